// ControlNet guides shared by the control modes: the server's ControlNets (GET /api/info → model.controlnets, those
// started with `turbogen serve --controlnet NAME=PATH` that fit the model) offered in a <select>, the likeliest one for
// the mode chosen by its name (e.g. "scribble" or "lineart" for drawings, "canny" or "edge" for photo outlines).

/** The index of the first name containing one of `words` (case-insensitive), else 0. */
export function likeliest(names, words) {
  const i = names.findIndex((n) => words.some((w) => n.toLowerCase().includes(w)));
  return i < 0 ? 0 : i;
}

/**
 * Fills `select` with one option per ControlNet (after the options it already has up to `keep`), selecting the likeliest
 * unless the user's earlier choice is still there.
 */
export function fillGuides(select, names, words, { keep = 0, label = (n) => n } = {}) {
  const previous = select.value;
  while (select.options.length > keep) select.remove(keep);
  for (const name of names) {
    const option = document.createElement('option');
    option.value = name;
    option.textContent = label(name);
    select.append(option);
  }
  if (names.includes(previous)) select.value = previous;
  else if (names.length) select.value = names[likeliest(names, words)];
}

/** The preprocessor a drawing needs for ControlNet `name`: lineart models want the lineart module, the rest scribble. */
export function sketchPreprocessor(name) { return /line\s*art|lineart/i.test(name) ? 'lineart' : 'scribble'; }

/** Tells every mode the server's ControlNets; a mode that needs one is unavailable (its radio disabled) without. */
export function offerControlNets(modes, names) {
  for (const mode of modes) {
    mode.controlNets?.(names);
    if (!mode.needsControlNet) continue;
    const radio = document.querySelector(`input[name="mode"][value="${mode.id}"]`);
    radio.disabled = names.length === 0;
    radio.parentElement.title = names.length ? '' : 'This server has no ControlNet (start it with turbogen serve --controlnet NAME=PATH).';
  }
}
