import { spawn } from 'node:child_process';

/** Opens a URL in the user's default browser; failing to is not an error (the URL is printed). */
export function openInBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    spawn(command, [url], { detached: true, stdio: 'ignore' }).on('error', () => undefined).unref();
  } catch {
    // The URL was printed; the user can open it by hand.
  }
}
