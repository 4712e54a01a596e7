# Reference fixtures for psyscore.psychometrics from R's psych package.
#
# Re-run (from the repository root, needs R with psych 2.2.9, GPArotation, jsonlite):
#
#     python tests/reference/make_datasets.py      # only if the datasets changed
#     Rscript tests/reference/run_psych.R
#
# Reads tests/reference/data/*.csv and writes tests/reference/fixtures/psych_<dataset>.json
# (and psych_retest.json). Every number is written with full precision (digits = NA).
# The tests compare against these files; they never call R.

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", args[grep("--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_dir <- file.path(here, "data")
out_dir <- file.path(here, "fixtures")
dir.create(out_dir, showWarnings = FALSE)

df_to_list <- function(d) {
  d <- as.data.frame(d)
  out <- lapply(seq_len(ncol(d)), function(j) unname(d[[j]]))
  names(out) <- colnames(d)
  out$row <- rownames(d)
  out
}

alpha_fixture <- function(x) {
  a <- psych::alpha(x, check.keys = FALSE, warnings = FALSE)
  tot <- a$total
  list(
    total = as.list(tot),
    feldt = list(lower = unname(a$feldt$lower.ci[[1]]), upper = unname(a$feldt$upper.ci[[1]])),
    alpha_drop = df_to_list(a$alpha.drop),
    item_stats = df_to_list(a$item.stats),
    response_freq = if (is.null(a$response.freq)) NULL else df_to_list(a$response.freq),
    nsub = nrow(x),
    nvar = a$nvar
  )
}

split_fixture <- function(x) {
  s <- psych::splitHalf(x, brute = TRUE, check.keys = FALSE)
  list(maxrb = s$maxrb, minrb = s$minrb, meanr = s$meanr, av.r = s$av.r, med.r = s$med.r,
       alpha = s$alpha, lambda2 = s$lambda2, lambda6 = s$lambda6,
       maxAB = lapply(s$maxAB, unname), minAB = lapply(s$minAB, unname))
}

omega_fixture <- function(x, nfactors) {
  o <- suppressWarnings(suppressMessages(
    psych::omega(x, nfactors = nfactors, fm = "minres", rotate = "oblimin", plot = FALSE)
  ))
  sl <- o$schmid$sl
  printed <- capture.output(print(o, digits = 4))
  printed <- trimws(grep("^(Alpha|G.6|Omega)", printed, value = TRUE))
  list(nfactors = nfactors, printed = printed, omega_h = o$omega_h, omega_tot = o$omega.tot, alpha = o$alpha,
       G6 = o$G6, omega_lim = o$omega.lim, ECV = unname(o$ECV),
       g = unname(sl[, 1]), h2 = unname(sl[, "h2"]), u2 = unname(sl[, "u2"]),
       phi = if (nfactors > 1) unname(o$schmid$phi) else NULL,
       orthog = unname(unclass(o$schmid$orthog)),
       oblique = if (nfactors > 1) unname(unclass(o$schmid$oblique)) else NULL,
       group = df_to_list(o$omega.group))
}

datasets <- c("bifactor12", "unidim7", "missing8", "miskeyed8")
for (nm in datasets) {
  x <- read.csv(file.path(data_dir, paste0(nm, ".csv")))
  fx <- list(
    dataset = nm,
    psych_version = as.character(packageVersion("psych")),
    gparotation_version = as.character(packageVersion("GPArotation")),
    alpha = alpha_fixture(x),
    splithalf = split_fixture(x),
    omega3 = omega_fixture(x, 3),
    omega1 = omega_fixture(x, 1),
    cor_pairwise = unname(cor(x, use = "pairwise")),
    cov_pairwise = unname(cov(x, use = "pairwise")),
    pairwise_count = unname(pairwiseCount(x))
  )
  # listwise: psych::alpha on the complete cases (what psyscore's policy="listwise" reproduces)
  xc <- na.omit(x)
  fx$alpha_listwise <- alpha_fixture(xc)
  fx$n_complete <- nrow(xc)
  write_json(fx, file.path(out_dir, paste0("psych_", nm, ".json")), digits = NA,
             auto_unbox = TRUE, pretty = TRUE, na = "null")
  cat("wrote psych_", nm, ".json\n", sep = "")
}

# Test-retest ICCs (psych::ICC, wide layout: one column per wave)
rt <- read.csv(file.path(data_dir, "retest.csv"))
wide <- reshape(rt, idvar = "id", timevar = "wave", direction = "wide")
w <- wide[, c("score.1", "score.2")]
ic <- psych::ICC(w, lmer = FALSE)
write_json(list(results = df_to_list(ic$results), pearson = cor(w[, 1], w[, 2]),
                sd1 = sd(w[, 1]), sd2 = sd(w[, 2]), n = nrow(w)),
           file.path(out_dir, "psych_retest.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
cat("wrote psych_retest.json\n")
