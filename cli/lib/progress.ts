/**
 * A progress line with the elapsed time on stderr while a request is pending,
 * only when stderr is a terminal (so pipes and agents see nothing). A label
 * given as a function is asked again at each redraw.
 */
export function startProgress(label: string | (() => string), stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => undefined;
  const started = Date.now();
  const draw = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    const text = typeof label === "string" ? label : label();
    stream.write(`\r\x1b[2K${text} ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`);
  };
  draw();
  const timer = setInterval(draw, 1000);
  return () => {
    clearInterval(timer);
    stream.write("\r\x1b[2K");
  };
}
