/**
 * XLSX workbooks for exports (exceljs): each sheet is a title, a block of «label: value» lines (what was
 * asked: measure, period, filters), then one table with bold header rows, typed number cells with a number
 * format per column, optional total rows, frozen headers and column widths from the content. Text cells
 * are stored as strings, never as formulas, so citizen or reference text cannot run in a spreadsheet.
 */
import ExcelJS from 'exceljs';

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export type XlsxCell = string | number | null;

export interface XlsxSheet {
  /** Sheet name (Excel allows 31 characters; longer names are cut). */
  name: string;
  /** A bold line at the top. */
  title?: string;
  /** «label: value» lines under the title. */
  meta?: [string, string][];
  /** Header rows of the table (bold, frozen). */
  head: XlsxCell[][];
  body: XlsxCell[][];
  /** Total rows (bold) after the body. */
  foot?: XlsxCell[][];
  /** Number format per column (index from 0), e.g. '0.0' or '0%'. */
  formats?: (string | undefined)[];
  /** How many leading columns name the row (bold in the body). @defaultValue 1 */
  stub?: number;
}

const HEAD_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFEEF2F6' } };
const FOOT_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFF7F9FB' } };
const THIN: Partial<ExcelJS.Borders> = { bottom: { style: 'thin', color: { argb: 'FFC4CCD6' } } };

function addSheet(wb: ExcelJS.Workbook, spec: XlsxSheet): void {
  const ws = wb.addWorksheet(spec.name.slice(0, 31));
  const stub = spec.stub ?? 1;
  const widths: number[] = [];
  const measure = (row: XlsxCell[]) =>
    row.forEach((v, i) => {
      const len = v === null ? 0 : typeof v === 'number' ? 10 : v.length;
      widths[i] = Math.max(widths[i] ?? 8, Math.min(len + 2, 60));
    });
  if (spec.title) {
    ws.addRow([spec.title]).font = { bold: true, size: 13 };
  }
  for (const [k, v] of spec.meta ?? []) {
    const r = ws.addRow([k, v]);
    r.getCell(1).font = { color: { argb: 'FF5F6B7A' } };
  }
  if (spec.title || spec.meta?.length) ws.addRow([]);
  const put = (cells: XlsxCell[], kind: 'head' | 'body' | 'foot') => {
    const r = ws.addRow(cells.map((c) => (c === null ? undefined : c)));
    cells.forEach((c, i) => {
      const cell = r.getCell(i + 1);
      const fmt = spec.formats?.[i];
      if (typeof c === 'number' && fmt) cell.numFmt = fmt;
      if (kind !== 'body') {
        cell.font = { bold: true };
        cell.fill = kind === 'head' ? HEAD_FILL : FOOT_FILL;
        cell.border = THIN;
        if (kind === 'head') cell.alignment = { wrapText: true, vertical: 'top' };
      } else if (i < stub) cell.font = { bold: true };
    });
    return r;
  };
  spec.head.forEach((h) => put(h, 'head'));
  const headEnd = ws.rowCount;
  spec.body.forEach((b) => (measure(b), put(b, 'body')));
  (spec.foot ?? []).forEach((f) => (measure(f), put(f, 'foot')));
  // Header cells wrap, so they count less than the body towards the width.
  spec.head.forEach((h) =>
    h.forEach((v, i) => {
      const len = typeof v === 'string' ? Math.min(v.length, 24) + 2 : 8;
      widths[i] = Math.max(widths[i] ?? 8, len);
    }),
  );
  widths.forEach((w, i) => (ws.getColumn(i + 1).width = w));
  // The meta lines are long: the first column keeps its width, their text overflows to the right.
  ws.views = [{ state: 'frozen', xSplit: stub, ySplit: headEnd }];
}

/** The workbook of the given sheets, as the bytes of an .xlsx file. */
export async function xlsxBuffer(sheets: XlsxSheet[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Отклик';
  wb.created = new Date();
  for (const s of sheets) addSheet(wb, s);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/**
 * `attachment; filename="<ascii>"; filename*=UTF-8''<name>`: browsers save under `name` (Russian allowed),
 * older clients under the ASCII fallback.
 */
export function attachment(asciiName: string, name: string = asciiName): string {
  const safe = asciiName.replace(/[^\w.-]+/g, '_');
  return `attachment; filename="${safe}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
