/**
 * A progress bar on stderr, drawn with ink, only when stderr is a terminal and output is not
 * JSON. Fast operations finish before the bar would appear, so it never flickers.
 */
import type { ProgressEvent, ProgressSink } from '../../core/progress.js';

const SHOW_AFTER_MS = 300;
const REDRAW_EVERY_MS = 80;
const BAR_WIDTH = 28;

export async function withProgress<T>(enabled: boolean, fn: (sink: ProgressSink) => Promise<T>): Promise<T> {
  if (!enabled || !process.stderr.isTTY) return fn(() => undefined);
  const [{ render, Text }, React] = await Promise.all([import('ink'), import('react')]);
  const view = (e: ProgressEvent) => {
    const filled = e.total > 0 ? Math.round((BAR_WIDTH * Math.min(e.done, e.total)) / e.total) : 0;
    return React.createElement(Text, { color: 'cyan', wrap: 'truncate-end' }, `${e.task} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${e.done}/${e.total}`);
  };
  const started = Date.now();
  let latest: ProgressEvent | null = null;
  const ui: { instance: ReturnType<typeof render> | null } = { instance: null };
  const draw = () => {
    if (!latest || Date.now() - started < SHOW_AFTER_MS) return;
    if (ui.instance) ui.instance.rerender(view(latest));
    else ui.instance = render(view(latest), { stdout: process.stderr, patchConsole: false, exitOnCtrlC: false });
  };
  const timer = setInterval(draw, REDRAW_EVERY_MS);
  try {
    return await fn((e) => (latest = e));
  } finally {
    clearInterval(timer);
    ui.instance?.clear();
    ui.instance?.unmount();
  }
}
