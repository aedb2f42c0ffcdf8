// What an engine writes on the host when it is not confined (bench/engines/host-paths.ts, shared
// with the bench's engine peers): the engine tests fail if one of these paths appeared.
export { existingEnginePaths, newEnginePaths } from '../../../bench/engines/host-paths.js';
