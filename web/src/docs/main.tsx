import { render } from "preact";
import "../lib/ui.css";

render(<main>Docs</main>, document.getElementById("root")!);
