/**
 * The color theme (dark or light). The studio saves the choice; a copy in localStorage lets
 * main.ts apply it before the first paint, so the page does not flash the wrong one at start-up.
 */
import type { Theme } from '../../../shared/contract';
import { call } from './api';
import { dialogs } from './dialogs.svelte';

export const THEME_KEY = 'atl-studio-theme';

class ColorTheme {
  current = $state<Theme>('dark');

  /** Shows `theme` (the studio's saved choice, or the user's new one). */
  apply(theme: Theme): void {
    this.current = theme;
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }

  async toggle(): Promise<void> {
    const theme: Theme = this.current === 'dark' ? 'light' : 'dark';
    this.apply(theme); // at once; the choice is saved in the background
    await dialogs.attempt(() => call('studio.setTheme', { theme }));
  }
}

export const theme = new ColorTheme();
