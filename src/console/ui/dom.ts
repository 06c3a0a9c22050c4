/// <reference lib="dom" />
// The browser code lives under src/ so that the one `tsc -p tsconfig.json` of `npm run build`
// compiles it with everything else (and the image's `COPY src` holds it); this reference gives
// that program the DOM's types. `src/console/ui/tsconfig.json` checks it alone, without Node's.

type Child = Node | string | number | false | null | undefined;
type Props = Record<string, string | number | boolean | undefined | EventListener>;

/**
 * Creates an element: `props` become attributes (`true` an empty one, `false`/undefined none;
 * `on<event>` a listener), `children` are nodes or text. Text is never parsed as HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}
