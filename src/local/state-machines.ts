/** The state machine files the local executor runs (and `estimate`/`plan` read the shape of), without loading the local stack. */
import { fileURLToPath } from 'node:url';

export const STATE_MACHINE_FILE = fileURLToPath(new URL('../../statemachines/migrate.asl.yaml', import.meta.url));
/** Its sibling for sources runs (issue 20): a CSV of URLs, each fetched first, then the same photo steps. */
export const SOURCES_STATE_MACHINE_FILE = fileURLToPath(new URL('../../statemachines/migrate-sources.asl.yaml', import.meta.url));
