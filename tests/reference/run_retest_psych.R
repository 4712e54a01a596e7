# Test-retest reference for `psyscore retest` from R's psych package (psych::ICC).
#
# Re-run (from the repository root, needs R with psych 2.2.9 and jsonlite):
#
#     python tests/reference/make_retest.py        # only if the datasets changed
#     Rscript tests/reference/run_retest_psych.R
#
# Reads tests/reference/data/retest_wave1.csv and retest_wave2.csv, computes the PHQ-9 and GAD-7
# totals independently of psyscore (sum of the items; a respondent with any item missing has no
# total: the committed data are complete except p020's three missing PHQ-9 items at wave 2, which
# psyscore's rule (at most 2 missing) also leaves unscored), joins the waves by respondent_id and
# writes tests/reference/fixtures/retest_psych.json with full precision (digits = NA).
# The tests compare against that file; they never call R.

suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", args[grep("--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
out_dir <- file.path(here, "fixtures")
dir.create(out_dir, showWarnings = FALSE)

w1 <- read.csv(file.path(data_dir, "retest_wave1.csv"), stringsAsFactors = FALSE)
w2 <- read.csv(file.path(data_dir, "retest_wave2.csv"), stringsAsFactors = FALSE)

totals <- function(d) {
  data.frame(
    respondent_id = d$respondent_id,
    phq9_total = rowSums(d[, paste0("phq9_", 1:9)]),  # NA if any item is missing
    gad7_total = rowSums(d[, paste0("gad7_", 1:7)])
  )
}
t1 <- totals(w1)
t2 <- totals(w2)
both <- merge(t1, t2, by = "respondent_id", suffixes = c(".1", ".2"))

df_to_list <- function(d) {
  d <- as.data.frame(d)
  out <- lapply(seq_len(ncol(d)), function(j) unname(d[[j]]))
  names(out) <- colnames(d)
  out$row <- rownames(d)
  out
}

one_score <- function(col) {
  x <- both[, c(paste0(col, ".1"), paste0(col, ".2"))]
  x <- x[complete.cases(x), ]
  ic <- psych::ICC(x, lmer = FALSE, alpha = 0.05)
  res <- ic$results
  icc2 <- res["Single_random_raters", "ICC"]
  sd1 <- sd(x[, 1])
  sem <- sd1 * sqrt(1 - icc2)
  list(
    n = nrow(x),
    results = df_to_list(res),
    mean1 = mean(x[, 1]), sd1 = sd1,
    mean2 = mean(x[, 2]), sd2 = sd(x[, 2]),
    mean_diff = mean(x[, 2] - x[, 1]), sd_diff = sd(x[, 2] - x[, 1]),
    pearson = cor(x[, 1], x[, 2]),
    sem_icc2 = sem,
    rc_threshold_icc2 = 1.96 * sqrt(2) * sem
  )
}

fixture <- list(
  psych_version = as.character(packageVersion("psych")),
  n_wave1 = nrow(w1), n_wave2 = nrow(w2),
  n_matched = nrow(both),
  n_only_wave1 = length(setdiff(t1$respondent_id, t2$respondent_id)),
  n_only_wave2 = length(setdiff(t2$respondent_id, t1$respondent_id)),
  scores = list(phq9_total = one_score("phq9_total"), gad7_total = one_score("gad7_total"))
)
write_json(fixture, file.path(out_dir, "retest_psych.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
cat("wrote retest_psych.json\n")
