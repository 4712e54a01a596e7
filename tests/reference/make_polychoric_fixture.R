# Reference fixture for psyscore's polychoric correlations and ordinal reliability, from R psych.
#
# Re-run (from the repository root; needs R with psych 2.2.9, GPArotation and jsonlite, e.g.
# Debian's r-base-core r-cran-psych r-cran-gparotation r-cran-jsonlite):
#
#     Rscript tests/reference/make_polychoric_fixture.R
#
# Data: tests/reference/data/bfi25.csv is psych's `bfi` (2,800 x 25 items, coded 1-6, with
# missing answers), written by
#     Rscript -e 'library(psych); write.csv(bfi[, 1:25], "tests/reference/data/bfi25.csv",
#                 row.names = FALSE, na = "", quote = FALSE)'
# Writes tests/reference/fixtures/psych_polychoric.json with full precision (digits = NA).
# tests/test_polychoric.py compares against it; the tests never call R.

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("--file=", "", args[grep("--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
bfi25 <- read.csv(file.path(here, "data", "bfi25.csv"))

reverse <- function(x, items) {
  x[items] <- 7 - x[items]  # psych's keys on a 1-6 scale: -A1 means 7 - A1
  x
}

poly_fixture <- function(x) {
  p <- suppressWarnings(suppressMessages(polychoric(x)))
  list(items = colnames(x), rho = unname(p$rho), tau = unname(p$tau))
}

ordinal_fixture <- function(x, nfactors) {
  # ordinal alpha: psych::alpha on the polychoric matrix; omega: psych::omega(poly = TRUE)
  p <- suppressWarnings(suppressMessages(polychoric(x)))
  a <- suppressWarnings(psych::alpha(p$rho, check.keys = FALSE, warnings = FALSE))
  o1 <- suppressWarnings(suppressMessages(
    omega(x, nfactors = 1, poly = TRUE, fm = "minres", plot = FALSE)
  ))
  out <- list(
    items = colnames(x),
    rho = unname(p$rho),
    ordinal_alpha = a$total$raw_alpha,
    ordinal_alpha_std = a$total$std.alpha,
    ordinal_average_r = a$total$average_r,
    omega_total_1f = o1$omega.tot
  )
  if (nfactors > 1) {
    o <- suppressWarnings(suppressMessages(
      omega(x, nfactors = nfactors, poly = TRUE, fm = "minres", rotate = "oblimin", plot = FALSE)
    ))
    out$omega_total <- o$omega.tot
    out$omega_h <- o$omega_h
    out$nfactors <- nfactors
  }
  out
}

keyed <- reverse(bfi25, c("A1", "C4", "C5", "E1", "E2", "O2", "O5"))

# Unequal numbers of categories (A1 answers of 6 recoded to 5): psych then sets global = FALSE,
# thresholds per pair from the pair's table, with the 0.5 correction for empty cells.
unequal <- keyed[c("A1", "A2", "A3", "A4", "A5")]
unequal$A1[!is.na(unequal$A1) & unequal$A1 == 6] <- 5

fixture <- list(
  psych_version = as.character(packageVersion("psych")),
  r_version = R.version.string,
  data = "tests/reference/data/bfi25.csv",
  reversed = c("A1", "C4", "C5", "E1", "E2", "O2", "O5"),
  raw25 = poly_fixture(bfi25),
  scales = list(
    agreeableness = ordinal_fixture(keyed[c("A1", "A2", "A3", "A4", "A5")], 1),
    conscientiousness = ordinal_fixture(keyed[c("C1", "C2", "C3", "C4", "C5")], 1),
    neuroticism = ordinal_fixture(keyed[c("N1", "N2", "N3", "N4", "N5")], 1),
    agree_consc = ordinal_fixture(keyed[c("A1", "A2", "A3", "A4", "A5",
                                          "C1", "C2", "C3", "C4", "C5")], 3)
  ),
  unequal_categories = ordinal_fixture(unequal, 1)
)

out <- file.path(here, "fixtures", "psych_polychoric.json")
writeLines(toJSON(fixture, auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
cat("wrote", out, "\n")
