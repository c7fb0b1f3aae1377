//! The ranges of the numbers the command line takes, checked by clap as it
//! parses (`value_parser = count(…)` / `number(…)`), so every command refuses
//! a bad number the same way: one `error:` line naming the argument and the
//! range, before any work starts. Each maximum is stated in the argument's
//! `--help`; the tests check that the two agree.

/// Samples of a dataset (all splits): 50 M samples of an 8-DoF arm are 6 GB.
pub const MAX_SAMPLES: usize = 50_000_000;
/// Queries of `bench`.
pub const MAX_QUERIES: usize = 1_000_000;
/// Solutions per pose (`solve`/`eval --samples`, the GAN's variance rows).
pub const MAX_SOLUTIONS: usize = ik_studio::solvers::MAX_SOLUTIONS_PER_POSE;
/// Training batch.
pub const MAX_BATCH: usize = 1_000_000;
/// Training epochs.
pub const MAX_EPOCHS: usize = 1_000_000;
/// Time budget per pose (one hour), milliseconds.
pub const MAX_BUDGET_MS: f64 = 3_600_000.0;
/// Tolerances, loss weights, learning rates and other positive factors.
pub const MAX_FACTOR: f64 = 1e6;
/// Floor height, metres (as far as a URDF's own offsets may reach).
pub const MAX_FLOOR: f64 = ik_studio::kinematics::MAX_URDF_MAGNITUDE;
/// Ghost arms of the studio's overlays.
pub const MAX_GHOSTS: usize = 500;

/// A clap value parser: a whole number in `min..=max`.
pub fn count(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text| match text.trim().parse::<usize>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("expected a whole number from {min} to {max}")),
    }
}

/// A clap value parser: a finite number in `[min, max]`, or `(min, max]` when
/// `above_min` (strictly positive quantities).
pub fn number(
    min: f64,
    max: f64,
    above_min: bool,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text| {
        let low_ok = |v: f64| if above_min { v > min } else { v >= min };
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && low_ok(v) && v <= max => Ok(v),
            _ => Err(format!("expected a number {} {min} and ≤ {max}", if above_min { ">" } else { "≥" })),
        }
    }
}

/// Positive, at most [`MAX_FACTOR`].
pub fn positive() -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    number(0.0, MAX_FACTOR, true)
}

/// Zero or more, at most [`MAX_FACTOR`].
pub fn non_negative() -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    number(0.0, MAX_FACTOR, false)
}

/// A time budget in milliseconds: positive, at most [`MAX_BUDGET_MS`].
pub fn budget_ms() -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    number(0.0, MAX_BUDGET_MS, true)
}

/// A split fraction in `[0, 1)`.
pub fn fraction() -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text| match text.trim().parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err("expected a fraction ≥ 0 and < 1".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_numbers_are_bounded() {
        let samples = count(1, MAX_SAMPLES);
        assert_eq!(samples("2000"), Ok(2000));
        for bad in ["0", "50000001", "1e12", "-1", "nan", "", "99999999999999999999999"] {
            assert!(samples(bad).is_err(), "{bad}");
        }
        let budget = budget_ms();
        assert_eq!(budget("50"), Ok(50.0));
        for bad in ["0", "-1", "1e308", "inf", "NaN", "3600001"] {
            assert!(budget(bad).is_err(), "{bad}");
        }
        assert_eq!(non_negative()("0"), Ok(0.0));
        assert!(fraction()("1").is_err() && fraction()("-0.1").is_err() && fraction()("0.5").is_ok());
    }
}
