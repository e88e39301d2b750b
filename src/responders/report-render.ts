/**
 * The weekly report as files: a PDF (pdfkit, DejaVu fonts for Cyrillic, charts drawn as vectors: messages
 * per day against the week before, incidents by sector) and an XLSX workbook (exceljs) with one sheet per
 * part of the report. Both render the same `WeeklyReport`, so their figures always agree.
 */
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import type { Figure, WeeklyReport } from './report.ts';
import { xlsxBuffer } from './xlsx.ts';

const require = createRequire(import.meta.url);
const FONT = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT_BOLD = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf');

const nf0 = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

/** A figure as a reader sees it: «1 234», «12,5 ч», «87 %», «4,2». */
export function formatFigure(unit: Figure['unit'], v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  switch (unit) {
    case 'count':
      return nf0.format(v);
    case 'hours':
      return `${nf1.format(v)} ч`;
    case 'share':
      return `${nf0.format(v * 100)} %`;
    case 'score':
      return nf1.format(v);
  }
}

/** «+12 %», «−3 п. п.», «—» */
export function formatChange(f: Figure): string {
  if (f.value === null || f.previous === null) return '—';
  if (f.unit === 'share') {
    const d = (f.value - f.previous) * 100;
    return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${nf0.format(Math.abs(d))} п. п.`;
  }
  if (f.previous === 0) return f.value === 0 ? '±0' : 'новое';
  const d = ((f.value - f.previous) / Math.abs(f.previous)) * 100;
  return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${nf0.format(Math.abs(d))} %`;
}

const GOOD = '#1b7f3b';
const BAD = '#b3261e';
const INK = '#1f2933';
const MUTED = '#6b7785';
const BLUE = '#2f6fb2';
const GREY = '#b8c2cc';

function changeColor(f: Figure): string {
  if (f.value === null || f.previous === null || f.value === f.previous) return MUTED;
  return f.value > f.previous === f.higherIsBetter ? GOOD : BAD;
}

export function renderReportPdf(r: WeeklyReport): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 40,
    info: { Title: `${r.title} за ${r.periodLabel}`, Author: 'Отклик — ЦУР' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('sans', FONT);
  doc.registerFont('bold', FONT_BOLD);
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const bottom = () => doc.page.height - doc.page.margins.bottom;
  const ensure = (h: number) => {
    if (doc.y + h > bottom()) doc.addPage();
  };
  const heading = (text: string) => {
    ensure(60);
    doc.moveDown(0.6).font('bold').fontSize(13).fillColor(INK).text(text, left, doc.y);
    doc.moveDown(0.3);
  };

  /** A table with fixed column widths (fractions of the page width); wraps to new pages with its header. */
  const table = (cols: { title: string; w: number; align?: 'left' | 'right' }[], rows: string[][]) => {
    const xs: number[] = [];
    let x = left;
    for (const c of cols) {
      xs.push(x);
      x += c.w * width;
    }
    const drawRow = (cells: string[], bold: boolean) => {
      doc.font(bold ? 'bold' : 'sans').fontSize(8.5);
      const h =
        Math.max(...cells.map((c, i) => doc.heightOfString(c, { width: cols[i]!.w * width - 6 }))) + 5;
      if (doc.y + h > bottom()) {
        doc.addPage();
        if (!bold)
          drawRow(
            cols.map((c) => c.title),
            true,
          );
        doc.font(bold ? 'bold' : 'sans').fontSize(8.5);
      }
      const y = doc.y;
      if (bold) doc.rect(left, y - 1, width, h).fill('#eef2f6');
      doc.fillColor(INK);
      cells.forEach((c, i) =>
        doc.text(c, xs[i]! + 3, y + 2, { width: cols[i]!.w * width - 6, align: cols[i]!.align ?? 'left' }),
      );
      doc.y = y + h;
      doc
        .moveTo(left, doc.y)
        .lineTo(left + width, doc.y)
        .lineWidth(0.3)
        .strokeColor('#d5dbe1')
        .stroke();
    };
    drawRow(
      cols.map((c) => c.title),
      true,
    );
    for (const row of rows) drawRow(row, false);
    doc.x = left;
  };

  // ---- title ----
  doc.font('bold').fontSize(17).fillColor(INK).text(r.title, { width });
  doc
    .font('sans')
    .fontSize(11)
    .fillColor(MUTED)
    .text(
      `Период: ${r.periodLabel} (время барнаульское). Сформирован ${new Date(r.generatedAt).toLocaleString('ru-RU', { timeZone: 'Asia/Barnaul' })}.`,
    );

  // ---- key figures: a grid of cards ----
  heading('Ключевые показатели (в сравнении с прошлой неделей)');
  const cardW = (width - 2 * 8) / 3;
  const cardH = 54;
  let y0 = doc.y;
  r.figures.forEach((f, i) => {
    const col = i % 3;
    if (col === 0 && i > 0) y0 += cardH + 8;
    if (y0 + cardH > bottom()) {
      doc.addPage();
      y0 = doc.y;
    }
    const x = left + col * (cardW + 8);
    doc.roundedRect(x, y0, cardW, cardH, 4).lineWidth(0.6).strokeColor('#cfd8e3').stroke();
    doc
      .font('sans')
      .fontSize(8)
      .fillColor(MUTED)
      .text(f.label, x + 8, y0 + 6, { width: cardW - 16 });
    doc
      .font('bold')
      .fontSize(15)
      .fillColor(INK)
      .text(formatFigure(f.unit, f.value), x + 8, y0 + 20, {
        width: cardW - 16,
      });
    doc
      .font('sans')
      .fontSize(8)
      .fillColor(changeColor(f))
      .text(`${formatChange(f)} (было ${formatFigure(f.unit, f.previous)})`, x + 8, y0 + 39, {
        width: cardW - 16,
      });
  });
  doc.y = y0 + cardH + 8;
  doc.x = left;

  // ---- chart: messages per day, this week against the last ----
  heading('Сообщения по дням');
  ensure(170);
  {
    const cx = left + 34;
    const cy = doc.y + 8;
    const cw = width - 44;
    const ch = 120;
    const max = Math.max(1, ...r.daily.flatMap((d) => [d.messages, d.previousMessages]));
    const step = niceStep(max);
    const top = Math.ceil(max / step) * step;
    doc.font('sans').fontSize(7).fillColor(MUTED);
    for (let v = 0; v <= top; v += step) {
      const y = cy + ch - (v / top) * ch;
      doc
        .moveTo(cx, y)
        .lineTo(cx + cw, y)
        .lineWidth(0.3)
        .strokeColor('#e3e8ee')
        .stroke();
      doc.text(nf0.format(v), left, y - 4, { width: 30, align: 'right' });
    }
    const px = (i: number) => cx + (i + 0.5) * (cw / 7);
    const py = (v: number) => cy + ch - (v / top) * ch;
    const line = (vals: number[], color: string, dash: boolean) => {
      vals.forEach((v, i) => (i ? doc.lineTo(px(i), py(v)) : doc.moveTo(px(i), py(v))));
      if (dash) doc.dash(3, { space: 2 });
      doc.lineWidth(1.6).strokeColor(color).stroke();
      doc.undash();
      vals.forEach((v, i) => doc.circle(px(i), py(v), 2).fill(color));
    };
    line(
      r.daily.map((d) => d.previousMessages),
      GREY,
      true,
    );
    line(
      r.daily.map((d) => d.messages),
      BLUE,
      false,
    );
    doc.fillColor(MUTED).fontSize(7);
    r.daily.forEach((d, i) => doc.text(d.label, px(i) - 25, cy + ch + 4, { width: 50, align: 'center' }));
    const ly = cy + ch + 18;
    doc.rect(cx, ly + 2, 10, 3).fill(BLUE);
    doc.fillColor(INK).text('эта неделя', cx + 14, ly, { lineBreak: false });
    doc.rect(cx + 80, ly + 2, 10, 3).fill(GREY);
    doc.fillColor(INK).text('прошлая неделя', cx + 94, ly, { lineBreak: false });
    doc.y = ly + 16;
    doc.x = left;
  }

  // ---- chart: incidents by sector (bars) with the last week's value as a tick ----
  heading('Инциденты по отраслям');
  {
    const rows = r.sectors.filter((s) => s.incidents || s.previous).slice(0, 12);
    const labelW = 150;
    const barW = width - labelW - 50;
    const max = Math.max(1, ...rows.flatMap((s) => [s.incidents, s.previous]));
    ensure(rows.length * 16 + 24);
    for (const s of rows) {
      const y = doc.y;
      doc
        .font('sans')
        .fontSize(8)
        .fillColor(INK)
        .text(s.name, left, y + 2, { width: labelW - 6, lineBreak: false });
      const w = (s.incidents / max) * barW;
      doc.rect(left + labelW, y + 2, Math.max(w, 0.5), 10).fill(BLUE);
      const pxPrev = left + labelW + (s.previous / max) * barW;
      doc
        .moveTo(pxPrev, y)
        .lineTo(pxPrev, y + 14)
        .lineWidth(1.2)
        .strokeColor(INK)
        .stroke();
      doc.fillColor(INK).text(nf0.format(s.incidents), left + labelW + w + 4, y + 2, { lineBreak: false });
      doc.y = y + 16;
    }
    doc
      .font('sans')
      .fontSize(7)
      .fillColor(MUTED)
      .text('Черта — значение прошлой недели.', left, doc.y + 2);
    doc.moveDown(0.4);
  }
  table(
    [
      { title: 'Отрасль', w: 0.46 },
      { title: 'Инцидентов', w: 0.18, align: 'right' },
      { title: 'Неделей ранее', w: 0.18, align: 'right' },
      { title: 'Просрочено', w: 0.18, align: 'right' },
    ],
    r.sectors.map((s) => [s.name, nf0.format(s.incidents), nf0.format(s.previous), nf0.format(s.overdue)]),
  );

  heading('Повторяющиеся проблемы');
  if (!r.problems.length)
    doc.font('sans').fontSize(9).fillColor(MUTED).text('За неделю повторяющихся проблем не выявлено.');
  else
    table(
      [
        { title: 'Проблема', w: 0.44 },
        { title: 'Территория', w: 0.17 },
        { title: 'Инцидентов', w: 0.13, align: 'right' },
        { title: 'Ранее', w: 0.09, align: 'right' },
        { title: 'Динамика', w: 0.17 },
      ],
      r.problems.map((p) => [
        p.title,
        p.municipality ?? '—',
        nf0.format(p.incidents),
        nf0.format(p.previous),
        p.trend,
      ]),
    );

  for (const level of r.ratings) {
    heading(`Рейтинг: ${level.title}`);
    if (!level.items.length) {
      doc.font('sans').fontSize(9).fillColor(MUTED).text('Нет инцидентов за неделю.');
      continue;
    }
    table(
      [
        { title: 'Место', w: 0.1, align: 'right' },
        { title: 'Орган', w: 0.5 },
        { title: 'Балл', w: 0.13, align: 'right' },
        { title: 'Инцидентов', w: 0.13, align: 'right' },
        { title: 'Изменение', w: 0.14, align: 'right' },
      ],
      level.items.map((i) => [
        String(i.rank),
        i.name,
        nf1.format(i.score),
        nf0.format(i.incidents),
        i.change === null ? 'новый' : i.change > 0 ? `▲ ${i.change}` : i.change < 0 ? `▼ ${-i.change}` : '=',
      ]),
    );
  }

  heading('Просроченные инциденты');
  const shown = r.overdue.slice(0, 50);
  if (!r.overdue.length) doc.font('sans').fontSize(9).fillColor(MUTED).text('Просроченных инцидентов нет.');
  else {
    table(
      [
        { title: 'Номер', w: 0.11 },
        { title: 'Отрасль', w: 0.14 },
        { title: 'Территория', w: 0.13 },
        { title: 'Исполнитель', w: 0.2 },
        { title: 'Срок', w: 0.11 },
        { title: 'Дн.', w: 0.05, align: 'right' },
        { title: 'Суть', w: 0.26 },
      ],
      shown.map((o) => [
        o.number,
        o.sector,
        o.municipality,
        o.agency,
        o.due,
        String(o.daysOverdue),
        o.summary,
      ]),
    );
    const more = r.overdue.length - shown.length + r.overdueMore;
    if (more)
      doc
        .font('sans')
        .fontSize(8)
        .fillColor(MUTED)
        .text(`…и ещё ${nf0.format(more)}; полный список — в таблице XLSX.`, left, doc.y + 4);
  }
  doc.end();
  return done;
}

/** 1, 2 or 5 × 10^k so that about four gridlines cover `max`. */
function niceStep(max: number): number {
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  return ([1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p) || 1;
}

export async function renderReportXlsx(r: WeeklyReport): Promise<Buffer> {
  const round = (v: number | null, d: number) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d);
  const figure = (f: Figure, v: number | null) => round(v, f.unit === 'share' ? 3 : 2);
  return xlsxBuffer([
    {
      name: 'Показатели',
      title: `${r.title} за ${r.periodLabel}`,
      head: [['Показатель', 'Неделя', 'Прошлая неделя', 'Изменение']],
      body: r.figures.map((f) => [f.label, figure(f, f.value), figure(f, f.previous), formatChange(f)]),
    },
    {
      name: 'По дням',
      head: [['Дата', 'День', 'Сообщений', 'Новых инцидентов', 'Сообщений неделей ранее']],
      body: r.daily.map((d) => [d.day, d.label, d.messages, d.incidents, d.previousMessages]),
    },
    {
      name: 'Отрасли',
      head: [['Отрасль', 'Инцидентов', 'Неделей ранее', 'Просрочено']],
      body: r.sectors.map((s) => [s.name, s.incidents, s.previous, s.overdue]),
    },
    {
      name: 'Проблемы',
      head: [['Проблема', 'Территория', 'Инцидентов', 'Ранее', 'Динамика']],
      body: r.problems.map((p) => [p.title, p.municipality, p.incidents, p.previous, p.trend]),
    },
    {
      name: 'Рейтинг',
      head: [['Уровень', 'Место', 'Орган', 'Балл', 'Инцидентов', 'Изменение места']],
      body: r.ratings.flatMap((level) =>
        level.items.map((i) => [level.title, i.rank, i.name, round(i.score, 1), i.incidents, i.change]),
      ),
      formats: [undefined, undefined, undefined, '0.0'],
    },
    {
      name: 'Просрочено',
      head: [['Номер', 'Отрасль', 'Территория', 'Исполнитель', 'Срок', 'Дней просрочки', 'Суть']],
      body: r.overdue.map((o) => [
        o.number,
        o.sector,
        o.municipality,
        o.agency,
        o.due,
        o.daysOverdue,
        o.summary,
      ]),
      foot: r.overdueMore ? [[`…и ещё ${r.overdueMore}`]] : [],
    },
  ]);
}
