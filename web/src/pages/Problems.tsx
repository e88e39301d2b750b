export function ProblemsPage() {
  return (
    <section>
      <h1>Problems</h1>
    </section>
  );
}
