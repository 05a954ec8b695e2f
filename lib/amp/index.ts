/** Mixed precision: autocast regions and the loss scaler (DESIGN section 6). */
export { autocast, isAutocastEnabled, getAutocastDtype } from './autocast';
export type { AutocastDType, AutocastOptions } from './autocast';
export { GradScaler, AmpStateError } from './grad_scaler';
export type { GradScalerOptions, GradScalerStateDict } from './grad_scaler';
