//! Ordinary least squares with statsmodels' result quantities, formula fitting and the
//! type-II ANOVA table (`anova_lm(fit, typ=2)`).

use crate::{
    dist,
    formula::{self, Design, Frame},
    linalg::{self, Matrix},
};
use mrixai_core::{Error, Result};

/// An OLS fit (statsmodels `OLSResults` quantities).
#[derive(Debug, Clone, PartialEq)]
pub struct OlsFit {
    /// Coefficient names.
    pub names: Vec<String>,
    /// Coefficients.
    pub params: Vec<f64>,
    /// Standard errors.
    pub bse: Vec<f64>,
    /// t statistics.
    pub tvalues: Vec<f64>,
    /// Two-sided p-values (t with `df_resid` degrees of freedom).
    pub pvalues: Vec<f64>,
    /// Number of observations.
    pub nobs: usize,
    /// Model degrees of freedom (coefficients minus the intercept).
    pub df_model: f64,
    /// Residual degrees of freedom.
    pub df_resid: f64,
    /// Sum of squared residuals.
    pub ssr: f64,
    /// Residual variance ssr / df_resid.
    pub scale: f64,
    /// R² (centred when there is an intercept).
    pub rsquared: f64,
    /// Adjusted R².
    pub rsquared_adj: f64,
    /// Overall F statistic.
    pub fvalue: f64,
    /// p-value of the overall F.
    pub f_pvalue: f64,
    /// Fitted values.
    pub fitted: Vec<f64>,
    /// Residuals.
    pub residuals: Vec<f64>,
}

/// Fits `y ≈ x β` by least squares. `intercept` says whether one column of `x` is the
/// constant (for R² and the F test). Fails on rank deficiency or no residual df.
pub fn fit(x: &Matrix, y: &[f64], names: &[String], intercept: bool) -> Result<OlsFit> {
    let (n, p) = (x.rows, x.cols);
    if names.len() != p {
        return Err(Error::invalid(format!(
            "{} names for {p} design columns",
            names.len()
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "OLS response is NaN or infinite at row {i}"
        )));
    }
    if n <= p {
        return Err(Error::invalid(format!(
            "too few observations for OLS: {n} rows for {p} coefficients (need more than {p})"
        )));
    }
    let ls = linalg::lstsq(x, y, Some(names))?;
    let df_resid = (n - p) as f64;
    let k_const = usize::from(intercept) as f64;
    let df_model = p as f64 - k_const;
    let ssr: f64 = ls.residuals.iter().map(|r| r * r).sum();
    let scale = ssr / df_resid;
    let bse: Vec<f64> = (0..p)
        .map(|j| (ls.xtx_inv[j * p + j] * scale).sqrt())
        .collect();
    let tvalues: Vec<f64> = ls.beta.iter().zip(&bse).map(|(b, s)| b / s).collect();
    let pvalues = tvalues
        .iter()
        .map(|t| dist::t_two_sided(*t, df_resid))
        .collect();
    let tss = if intercept {
        let m = y.iter().sum::<f64>() / n as f64;
        y.iter().map(|v| (v - m) * (v - m)).sum::<f64>()
    } else {
        y.iter().map(|v| v * v).sum::<f64>()
    };
    let rsquared = 1.0 - ssr / tss;
    let rsquared_adj = 1.0 - (n as f64 - k_const) / df_resid * (1.0 - rsquared);
    let (fvalue, f_pvalue) = if df_model > 0.0 {
        let f = ((tss - ssr) / df_model) / scale;
        (f, dist::f_sf(f, df_model, df_resid))
    } else {
        (f64::NAN, f64::NAN)
    };
    let fitted = y.iter().zip(&ls.residuals).map(|(a, r)| a - r).collect();
    Ok(OlsFit {
        names: names.to_vec(),
        params: ls.beta,
        bse,
        tvalues,
        pvalues,
        nobs: n,
        df_model,
        df_resid,
        ssr,
        scale,
        rsquared,
        rsquared_adj,
        fvalue,
        f_pvalue,
        fitted,
        residuals: ls.residuals,
    })
}

/// Refuses a fit with nothing to test: a constant response (its R² and F do not exist) or
/// zero residual variance (its F would be infinite or, after rounding, negative).
fn testable(f: &OlsFit, y: &[f64]) -> Result<OlsFit> {
    let scale_of_y = y.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
    let tss = f.ssr / (1.0 - f.rsquared).max(f64::MIN_POSITIVE);
    if y.iter().all(|v| *v == y[0]) || tss.is_nan() || tss <= 1e-24 * scale_of_y {
        return Err(Error::invalid(
            "not testable: the response is constant (e.g. a control map that ignores the model)",
        ));
    }
    if f.ssr.is_nan() || f.ssr <= 1e-20 * scale_of_y {
        return Err(Error::invalid(
            "not testable: zero residual variance (the model fits every row exactly)",
        ));
    }
    Ok(f.clone())
}

/// A formula fit: the design it was built on and the OLS result.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaFit {
    /// The formula as given.
    pub formula: String,
    /// Design matrix and term layout.
    pub design: Design,
    /// The fit.
    pub fit: OlsFit,
}

/// Fits a formula such as `score ~ accuracy + C(pretrain, Treatment('scratch')) * layers`.
pub fn ols(formula_text: &str, frame: &Frame) -> Result<FormulaFit> {
    let f = formula::parse(formula_text)?;
    let design = formula::design(&f, frame)?;
    let fit = fit(&design.x, &design.y, &design.column_names, design.intercept)
        .and_then(|f| testable(&f, &design.y))
        .map_err(|e| Error::invalid(format!("`{formula_text}`: {e}")))?;
    Ok(FormulaFit {
        formula: formula_text.to_string(),
        design,
        fit,
    })
}

/// One row of an ANOVA table.
#[derive(Debug, Clone, PartialEq)]
pub struct AnovaRow {
    /// Term name, or `Residual`.
    pub term: String,
    /// Sum of squares.
    pub sum_sq: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// F statistic (NaN for the residual row).
    pub f: f64,
    /// p-value (NaN for the residual row).
    pub p: f64,
}

fn ssr_of(ff: &FormulaFit, keep: &[usize]) -> Result<f64> {
    let d = &ff.design;
    let x = d.x.select_columns(keep);
    let names: Vec<String> = keep.iter().map(|&j| d.column_names[j].clone()).collect();
    let ls = linalg::lstsq(&x, &d.y, Some(&names))?;
    Ok(ls.residuals.iter().map(|r| r * r).sum())
}

/// Type-II ANOVA (statsmodels `anova_lm(fit, typ=2)`): for each term, the increase in the
/// residual sum of squares when it is dropped from the model without the higher-order
/// terms that contain it; F against the full model's residual variance. Rows follow the
/// design's term order, then `Residual`.
pub fn anova_type2(ff: &FormulaFit) -> Result<Vec<AnovaRow>> {
    let d = &ff.design;
    let mut rows = Vec::new();
    for t in d.terms.iter().filter(|t| !t.factors.is_empty()) {
        let containing: Vec<&formula::DesignTerm> = d
            .terms
            .iter()
            .filter(|u| u.factors.len() > t.factors.len() && t.factors.is_subset(&u.factors))
            .collect();
        let not_in_higher = |j: &usize| !containing.iter().any(|u| u.columns.contains(j));
        let with_t: Vec<usize> = (0..d.x.cols).filter(not_in_higher).collect();
        let without_t: Vec<usize> = with_t
            .iter()
            .copied()
            .filter(|j| !t.columns.contains(j))
            .collect();
        // a difference of two sums of squares: rounding can make it a hair negative
        let ss = (ssr_of(ff, &without_t)? - ssr_of(ff, &with_t)?).max(0.0);
        let df = t.columns.len() as f64;
        let f = ss / df / ff.fit.scale;
        rows.push(AnovaRow {
            term: t.name.clone(),
            sum_sq: ss,
            df,
            f,
            p: dist::f_sf(f, df, ff.fit.df_resid),
        });
    }
    rows.push(AnovaRow {
        term: "Residual".to_string(),
        sum_sq: ff.fit.ssr,
        df: ff.fit.df_resid,
        f: f64::NAN,
        p: f64::NAN,
    });
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_rows_is_an_error() {
        let fr = Frame::new()
            .with_numeric("y", vec![1.0, 2.0])
            .with_numeric("x", vec![1.0, 3.0]);
        let e = ols("y ~ x", &fr).unwrap_err().to_string();
        assert!(e.contains("too few observations"), "{e}");
    }

    #[test]
    fn degenerate_responses_are_not_testable() {
        let fr = Frame::new()
            .with_numeric("y", vec![0.5; 6])
            .with_numeric("x", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let e = ols("y ~ x", &fr).unwrap_err().to_string();
        assert!(e.contains("constant"), "{e}");
        let fr = Frame::new()
            .with_numeric("y", vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0])
            .with_numeric("x", vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let e = ols("y ~ x", &fr).unwrap_err().to_string();
        assert!(e.contains("zero residual"), "{e}");
    }
}
