* PSPP reference for psyscore's --split-half first-N (PSPP /MODEL=SPLIT(n): the first n items
* of the scale form part 1, the rest part 2), with n other than k/2 and odd k.
* Re-run from the repository root with:  python tests/reference/run_pspp_split.py
SET FORMAT=F30.12.

GET DATA /TYPE=TXT /FILE='data/unidim7.csv' /ARRANGEMENT=DELIMITED /DELCASE=LINE
  /FIRSTCASE=2 /DELIMITERS=',' /VARIABLES=u1 F8.0 u2 F8.0 u3 F8.0 u4 F8.0 u5 F8.0 u6 F8.0 u7 F8.0.
RELIABILITY /VARIABLES=u1 TO u7 /SCALE('unidim7_first2') ALL
  /MODEL=SPLIT(2) /SUMMARY=TOTAL.
RELIABILITY /VARIABLES=u1 TO u7 /SCALE('unidim7_first4') ALL
  /MODEL=SPLIT(4) /SUMMARY=TOTAL.

GET DATA /TYPE=TXT /FILE='data/missing8.csv' /ARRANGEMENT=DELIMITED /DELCASE=LINE
  /FIRSTCASE=2 /DELIMITERS=',' /VARIABLES=x1 F8.0 x2 F8.0 x3 F8.0 x4 F8.0 x5 F8.0 x6 F8.0 x7 F8.0 x8 F8.0.
RELIABILITY /VARIABLES=x1 TO x8 /SCALE('missing8_first3') ALL
  /MODEL=SPLIT(3) /SUMMARY=TOTAL.

GET DATA /TYPE=TXT /FILE='data/bifactor12.csv' /ARRANGEMENT=DELIMITED /DELCASE=LINE
  /FIRSTCASE=2 /DELIMITERS=',' /VARIABLES=b1 F8.0 b2 F8.0 b3 F8.0 b4 F8.0 b5 F8.0 b6 F8.0 b7 F8.0 b8 F8.0 b9 F8.0 b10 F8.0 b11 F8.0 b12 F8.0.
RELIABILITY /VARIABLES=b1 TO b12 /SCALE('bifactor12_first5') ALL
  /MODEL=SPLIT(5) /SUMMARY=TOTAL.
