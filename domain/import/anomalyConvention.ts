/**
 * The outputs every anomaly version has, trained here or imported, and their sign convention.
 * Constants only, so workflows may import them.
 *
 * `anomaly_score` is higher for more anomalous rows. `predicted_outlier` is threshold minus
 * anomaly_score: negative exactly for the rows flagged as outliers, as scikit-learn's
 * `decision_function` is (the threat-hunting search keeps rows where it is below zero and sums
 * their absolute values by computer).
 */
export const ANOMALY_SCORE_OUTPUT = 'anomaly_score';
export const PREDICTED_OUTLIER_OUTPUT = 'predicted_outlier';
/** The target an anomaly version records (the operations platform's target variable): the column its search reads. */
export const ANOMALY_TARGET = PREDICTED_OUTLIER_OUTPUT;

export const ANOMALY_CONVENTION =
  'anomaly_score: higher is more anomalous; predicted_outlier = threshold - anomaly_score, negative for outliers ' +
  "(as scikit-learn's decision_function)";
