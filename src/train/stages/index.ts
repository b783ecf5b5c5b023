/**
 * The output stages, in the order --arch auto tries them after the plain linear fit (stage.ts says
 * what a stage is and how to add one).
 */

import { ABS } from './abs.js';
import { CLAMP } from './clamp.js';
import { CURVE_AFTER, CURVE_BEFORE, CURVES } from './curves.js';
import { LINEAR } from './linear.js';
import { MAGNITUDE } from './magnitude.js';
import type { OutputStage } from './stage.js';

export const STAGES: readonly OutputStage[] = [LINEAR, CLAMP, ABS, MAGNITUDE, CURVE_AFTER, CURVE_BEFORE, CURVES];

export { ABS, CLAMP, CURVE_AFTER, CURVE_BEFORE, CURVES, LINEAR, MAGNITUDE };
export type { OutputStage, Range, StageData, StageFacts, StageFit } from './stage.js';
