/**
 * The notice the app, the synthesis report and every generated report display beside data
 * made from the built-in knowledge base.
 */
export const NOT_FOR_CLINICAL_USE =
  'Not for clinical use: synthetic teaching data from a simplified knowledge base written by the FineMed Workbench authors; it must never guide the care of a real patient.';
