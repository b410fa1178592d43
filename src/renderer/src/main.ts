import { mount } from 'svelte';
import App from './App.svelte';
import { THEME_KEY } from './lib/theme.svelte';
import './app.css';

// The theme is saved by the studio; this copy only avoids a flash of the wrong one at start-up.
document.documentElement.dataset.theme = localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark';

mount(App, { target: document.getElementById('app') as HTMLElement });
