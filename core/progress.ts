/** Progress of long operations, reported to whoever renders it (the CLI draws a bar on a TTY). */
export interface ProgressEvent {
  task: string;
  done: number;
  total: number;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => undefined;
