/** Files imported as text (Vite's `?raw`), such as the recorded Claude Code output. */
declare module "*?raw" {
  const text: string;
  export default text;
}
