/**
 * What the studio tells and asks the user outside the workspace: error toasts, short notices in the
 * status bar, the yes/no/text/choice dialog, and which panels are open over the grid. `attempt` is
 * how every action calls the services: a failure becomes a toast, so no action throws into a component.
 */

export interface Toast {
  id: number;
  message: string;
}

/** A question shown by ConfirmDialog: a plain yes/no, a text prompt (`input`) or a choice (`choices`). */
export interface DialogRequest {
  title: string;
  message: string;
  okLabel: string;
  danger?: boolean;
  input?: { label: string; value: string };
  choices?: { label: string; options: { value: string; label: string }[] };
  /** The entered text or chosen value; '' for a plain confirmation; null when cancelled. */
  resolve: (value: string | null) => void;
}

class Dialogs {
  toasts = $state<Toast[]>([]);
  notice = $state<string | null>(null);
  dialog = $state.raw<DialogRequest | null>(null);
  previewOpen = $state(false);
  helpOpen = $state(false);
  /** Labeling by class name (L): reaches the classes past the nine digit hotkeys. */
  classPickerOpen = $state(false);
  importOpen = $state(false);
  importTab = $state<'new' | 'past'>('new');
  /**
   * Open modal dialogs, innermost last. A modal makes the rest of the page inert, so error
   * banners are drawn inside the innermost one (see Modal.svelte), else at the page level.
   */
  modals = $state<number[]>([]);

  private nextToastId = 1;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  /** Runs an action; a failure becomes a toast and the action returns undefined. */
  async attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.showError(error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }

  showError(message: string): void {
    if (this.toasts.some((t) => t.message === message)) return;
    this.toasts.push({ id: this.nextToastId++, message });
  }

  dismissToast(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /** A short-lived hint in the status bar (e.g. "No class has hotkey 4"). */
  showNotice(message: string): void {
    this.notice = message;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = null), 4000);
  }

  /** Shows the dialog (replacing one still open, as cancelled); resolves with the answer. */
  ask(request: Omit<DialogRequest, 'resolve'>): Promise<string | null> {
    this.dialog?.resolve(null);
    return new Promise((resolve) => {
      this.dialog = {
        ...request,
        resolve: (value) => {
          this.dialog = null;
          resolve(value);
        },
      };
    });
  }

  async confirm(request: Omit<DialogRequest, 'resolve' | 'input' | 'choices'>): Promise<boolean> {
    return (await this.ask(request)) !== null;
  }
}

export const dialogs = new Dialogs();
