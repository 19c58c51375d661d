/** A set of callbacks for one kind of event; each is removed by the function `add` returns. */
export class Listeners<T> {
  readonly #set = new Set<(value: T) => void>();

  get size(): number {
    return this.#set.size;
  }

  add(listener: (value: T) => void): () => void {
    // Wrapped so that adding the same function twice gives two independent registrations.
    const entry = (value: T) => listener(value);
    this.#set.add(entry);
    return () => {
      this.#set.delete(entry);
    };
  }

  /** Calls every listener; one that throws does not stop the others. */
  emit(value: T, onThrow: (error: unknown) => void): void {
    for (const listener of [...this.#set]) {
      try {
        listener(value);
      } catch (error) {
        onThrow(error);
      }
    }
  }
}
