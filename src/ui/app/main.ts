// The renderer's entry point, bundled by esbuild for `finemed serve` and the desktop app.
import './styles.css';
import './styles/presentation.css';
import './styles/structure.css';
import './styles/cell-states.css';
import { App } from './app.ts';
import { electronBridge, electronHost } from './electron-host.ts';
import { httpHost } from './http-host.ts';

const bridge = electronBridge();
const app = new App(bridge ? electronHost(bridge) : httpHost());
void app.start(document.body);
