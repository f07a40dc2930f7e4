/** A page of the console: built once per visit, started when shown, stopped when left. */
export interface Page {
  title: string;
  element: HTMLElement;
  start(): void;
  stop(): void;
}
