export { BAD_BASE_OPTIONS, recordingLogger, type LogRecord, type RecordingLogger } from "./options.ts";
