* Makes portable.por for tests/test_qualtrics.py (run: pspp make_por.sps).
DATA LIST LIST /id phq9_1.
BEGIN DATA
1 0
2 3
3 9
END DATA.
MISSING VALUES phq9_1 (9).
VALUE LABELS phq9_1 0 'Not at all' 3 'Nearly every day' 9 'Refused'.
VARIABLE LABELS phq9_1 'Little interest'.
EXPORT OUTFILE='portable.por'.
