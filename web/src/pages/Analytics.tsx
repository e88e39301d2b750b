export function AnalyticsPage() {
  return (
    <section>
      <h1>Analytics</h1>
    </section>
  );
}
