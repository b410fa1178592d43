/** Keyboard shortcuts, listed once for the hint bar and the full help panel. */

export interface Shortcut {
  keys: string[];
  action: string;
}

export const shortcutGroups: { title: string; items: Shortcut[] }[] = [
  {
    title: 'Labeling (grid focused)',
    items: [
      { keys: ['1', '…', '9'], action: 'Give the selection the class with that hotkey; moves on after a single image' },
      { keys: ['L'], action: 'Label the selection with any class: type part of its name, then Enter' },
      { keys: ['0'], action: 'Clear the label of the selection' },
      { keys: ['Backspace'], action: 'Clear the label of the selection (also Delete)' },
      { keys: ['A'], action: 'Accept the prediction of the selection; moves on after a single image' },
      { keys: ['Shift', 'A'], action: 'Accept every prediction listed (asks first when over 20)' },
      { keys: ['Ctrl', 'Z'], action: 'Undo the last labeling' },
      { keys: ['Ctrl', 'Shift', 'Z'], action: 'Redo (also Ctrl+Y)' },
    ],
  },
  {
    title: 'Moving and selecting',
    items: [
      { keys: ['←', '→', '↑', '↓'], action: 'Move the cursor' },
      { keys: ['Shift', 'Arrow'], action: 'Extend the selection' },
      { keys: ['Ctrl', 'Arrow'], action: 'Move the cursor, keep the selection' },
      { keys: ['Home', 'End'], action: 'First / last image' },
      { keys: ['PgUp', 'PgDn'], action: 'One screen up / down' },
      { keys: ['Click'], action: 'Select one image' },
      { keys: ['Ctrl', 'Click'], action: 'Add or remove an image' },
      { keys: ['Shift', 'Click'], action: 'Select a range' },
      { keys: ['Ctrl', 'A'], action: 'Select every image listed' },
      { keys: ['Esc'], action: 'Keep only the image under the cursor selected' },
    ],
  },
  {
    title: 'Preview',
    items: [
      { keys: ['Space'], action: 'Open the large preview (also Enter or double-click)' },
      { keys: ['←', '→'], action: 'Previous / next image' },
      { keys: ['1', '…', '9'], action: 'Label the image shown and go to the next' },
      { keys: ['L'], action: 'Label it with any class, by name, and go to the next' },
      { keys: ['A'], action: 'Accept its prediction and go to the next' },
      { keys: ['+', '−'], action: 'Zoom in / out (also the mouse wheel)' },
      { keys: ['F'], action: 'Fit to the window' },
      { keys: ['Esc'], action: 'Close the preview' },
    ],
  },
  {
    title: 'Studio',
    items: [{ keys: ['?'], action: 'Show or hide this panel' }],
  },
];

/** The few that fit in the status bar. */
export const hints: Shortcut[] = [
  { keys: ['1–9'], action: 'label' },
  { keys: ['L'], action: 'label by name' },
  { keys: ['0'], action: 'clear' },
  { keys: ['A'], action: 'accept' },
  { keys: ['⇧', 'A'], action: 'accept all' },
  { keys: ['Space'], action: 'preview' },
  { keys: ['⇧', '←→'], action: 'extend' },
  { keys: ['Ctrl', 'Z'], action: 'undo' },
];
