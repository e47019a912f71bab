/** The console's entry: its styles and the app, mounted on the page's `#app`. */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { App } from "./app.js";

render(<App />, document.getElementById("app")!);
