/**
 * The output stages, in the order --arch auto tries them after the plain linear fit (stage.ts says
 * what a stage is and how to add one).
 */

import { ABS } from './abs.js';
import { CLAMP } from './clamp.js';
import { LINEAR } from './linear.js';
import { MAGNITUDE } from './magnitude.js';
import type { OutputStage } from './stage.js';

export const STAGES: readonly OutputStage[] = [LINEAR, CLAMP, ABS, MAGNITUDE];

export { ABS, CLAMP, LINEAR, MAGNITUDE };
export type { OutputStage, Range, StageData, StageFacts, StageFit } from './stage.js';
