export function ReportsPage() {
  return (
    <section>
      <h1>Reports</h1>
    </section>
  );
}
