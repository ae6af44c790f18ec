// Prompt mode: the picture from the prompt alone (text to image). The simplest mode module; see app.js for the contract.

export const promptMode = {
  id: 'prompt',
  panes: 1,
  paced: false,
  needsImageToImage: false,
  init() {},
  activate() {},
  deactivate() {},
  /** No input image. */
  hasImage() { return false; },
  input() { return null; },
};
