/**
 * Where the municipal units of Altai Krai lie, for the schematic problem map. Pure data and one pure
 * layout function, no I/O; the web workspace imports this file too.
 *
 * - `lat`/`lon`: APPROXIMATE coordinates of the administrative centre (decimal degrees, WGS 84), written
 *   from general knowledge of the map to about ±0.1° — enough to put a tile in the right part of the
 *   region, not for anything that measures distance. Several rural units are administered from a city
 *   that is its own urban okrug (Бийский район from Бийск, Первомайский from Новоалтайск…); they share
 *   that point and the layout puts them on a neighbouring tile.
 * - `label`: a short label that fits on a tile (≤ 10 characters).
 *
 * No boundaries are shipped: the map is one hexagon per unit on a grid (`schematicLayout`).
 */
import { MUNICIPALITIES } from './municipalities.ts';

export interface MunicipalityGeo {
  readonly code: string;
  /** Approximate latitude of the administrative centre. */
  readonly lat: number;
  /** Approximate longitude of the administrative centre. */
  readonly lon: number;
  /** Short label for a map tile. */
  readonly label: string;
}

type Row = readonly [code: string, lat: number, lon: number, label: string];

const ROWS: readonly Row[] = [
  // Urban okrugs.
  ['barnaul', 53.35, 83.77, 'Барнаул'],
  ['biysk', 52.54, 85.21, 'Бийск'],
  ['rubtsovsk', 51.51, 81.21, 'Рубцовск'],
  ['novoaltaysk', 53.41, 83.93, 'Новоалт.'],
  ['zarinsk', 53.71, 84.93, 'Заринск'],
  ['aleysk', 52.49, 82.78, 'Алейск'],
  ['slavgorod', 52.99, 78.65, 'Славгород'],
  ['yarovoye', 52.93, 78.58, 'Яровое'],
  ['belokurikha', 51.99, 84.99, 'Белокур.'],
  ['sibirsky', 53.47, 84.17, 'Сибирский'],
  // Rural units.
  ['aleysky-district', 52.49, 82.78, 'Алейский'],
  ['altaysky-district', 51.95, 85.33, 'Алтайский'],
  ['bayevsky-district', 53.27, 80.77, 'Баевский'],
  ['biysky-district', 52.54, 85.21, 'Бийский'],
  ['blagoveshchensky-district', 52.83, 79.87, 'Благовещ.'],
  ['burlinsky-district', 53.33, 78.33, 'Бурлинский'],
  ['bystroistoksky-district', 52.36, 84.39, 'Быстроист.'],
  ['volchikhinsky-district', 52.02, 80.37, 'Волчихин.'],
  ['yegoryevsky-district', 51.75, 80.87, 'Егорьевск.'],
  ['yeltsovsky-district', 53.25, 86.23, 'Ельцовский'],
  ['zavyalovsky-district', 52.83, 80.92, 'Завьялов.'],
  ['zalesovsky-district', 53.99, 84.74, 'Залесов.'],
  ['zarinsky-district', 53.71, 84.93, 'Заринский'],
  ['zmeinogorsky-district', 51.16, 82.19, 'Змеиног.'],
  ['zonalny-district', 52.67, 84.93, 'Зональный'],
  ['kalmansky-district', 52.9, 83.52, 'Калманский'],
  ['kamensky-district', 53.79, 81.35, 'Каменский'],
  ['klyuchevsky-district', 52.27, 79.17, 'Ключевской'],
  ['kosikhinsky-district', 53.37, 84.58, 'Косихин.'],
  ['krasnogorsky-district', 52.29, 86.2, 'Красногор.'],
  ['krasnoshchyokovsky-district', 51.67, 82.73, 'Краснощ.'],
  ['krutikhinsky-district', 53.96, 81.21, 'Крутихин.'],
  ['kulundinsky-district', 52.57, 78.94, 'Кулунд.'],
  ['kuryinsky-district', 51.6, 82.3, 'Курьинский'],
  ['kytmanovsky-district', 53.46, 85.45, 'Кытманов.'],
  ['loktevsky-district', 50.99, 81.47, 'Локтевский'],
  ['mamontovsky-district', 52.7, 81.62, 'Мамонтов.'],
  ['mikhaylovsky-district', 51.82, 79.72, 'Михайлов.'],
  ['nemetsky-district', 52.85, 79.3, 'Немецкий'],
  ['novichikhinsky-district', 52.2, 81.35, 'Новичих.'],
  ['pavlovsky-district', 53.32, 82.97, 'Павловский'],
  ['pankrushikhinsky-district', 53.83, 80.34, 'Панкруш.'],
  ['pervomaysky-district', 53.41, 83.93, 'Первомайск.'],
  ['petropavlovsky-district', 52.06, 84.06, 'Петропавл.'],
  ['pospelikhinsky-district', 51.98, 81.83, 'Поспелих.'],
  ['rebrikhinsky-district', 53.08, 82.33, 'Ребрихин.'],
  ['rodinsky-district', 52.5, 80.2, 'Родинский'],
  ['romanovsky-district', 52.64, 81.23, 'Романов.'],
  ['rubtsovsky-district', 51.51, 81.21, 'Рубцовский'],
  ['smolensky-district', 52.31, 85.08, 'Смоленский'],
  ['sovetsky-district', 52.31, 85.4, 'Советский'],
  ['soloneshensky-district', 51.63, 84.33, 'Солонеш.'],
  ['soltonsky-district', 52.84, 86.47, 'Солтонский'],
  ['suetsky-district', 53.1, 80.2, 'Суетский'],
  ['tabunsky-district', 52.68, 78.75, 'Табунский'],
  ['talmensky-district', 53.82, 83.56, 'Тальмен.'],
  ['togulsky-district', 53.47, 85.91, 'Тогульский'],
  ['topchikhinsky-district', 52.82, 83.12, 'Топчихин.'],
  ['tretyakovsky-district', 51.43, 82.58, 'Третьяков.'],
  ['troitsky-district', 52.98, 84.68, 'Троицкий'],
  ['tyumentsevsky-district', 53.33, 81.5, 'Тюменцев.'],
  ['uglovsky-district', 51.36, 80.19, 'Угловский'],
  ['ust-kalmansky-district', 52.12, 83.3, 'У-Калман.'],
  ['ust-pristansky-district', 52.05, 83.66, 'У-Пристан.'],
  ['khabarsky-district', 53.63, 79.55, 'Хабарский'],
  ['tselinny-district', 53.1, 85.66, 'Целинный'],
  ['charyshsky-district', 51.4, 83.57, 'Чарышский'],
  ['shelabolikhinsky-district', 53.41, 82.62, 'Шелабол.'],
  ['shipunovsky-district', 52.21, 82.31, 'Шипунов.'],
];

/** Approximate positions and tile labels of the 69 units, in the order of `MUNICIPALITIES`. */
export const MUNICIPALITY_GEO: readonly MunicipalityGeo[] = ROWS.map(([code, lat, lon, label]) => ({
  code,
  lat,
  lon,
  label,
}));

const byCode = new Map(MUNICIPALITY_GEO.map((g) => [g.code, g]));

export function municipalityGeo(code: string): MunicipalityGeo | undefined {
  return byCode.get(code);
}

/**
 * One hexagon of the schematic map (pointy-top hexagons on a grid whose odd rows are shifted by half a
 * tile). `x`: the centre, in tile widths from the left edge of the leftmost tile's centre; `row`: from the
 * top. A renderer puts the centre at `(x · w, row · w · √3/2)` for tiles `w` wide.
 */
export interface MapTile {
  code: string;
  x: number;
  row: number;
}

export interface SchematicLayout {
  tiles: MapTile[];
  /** Largest `x` + 1: the width of the picture in tile widths. */
  width: number;
  /** Largest `row` + 1. */
  rows: number;
}

/**
 * Distance between the centres of neighbouring tiles, km. Altai Krai is about 168,000 km²; one unit per
 * ~2,400 km² gives hexagons of about 50 km, a little less keeps the outline compact.
 */
const TILE_KM = 46;
const KM_PER_DEG_LAT = 111.2;
/** At 52.5°N, the middle of the region. */
const KM_PER_DEG_LON = 111.3 * Math.cos((52.5 * Math.PI) / 180);
const ROW_STEP = Math.sqrt(3) / 2;

/**
 * Places every unit on its own hexagon, as near as possible to where its centre lies. First greedily
 * (urban okrugs first, larger first, so each city takes its own place; then the rural units whose centre
 * is not a city), then by swapping and moving tiles while that lowers the total squared displacement
 * (a city's displacement counts four times, so cities stay where they are and the districts around them
 * move aside). Deterministic: the same data always gives the same picture.
 */
export function schematicLayout(
  geo: readonly MunicipalityGeo[] = MUNICIPALITY_GEO,
  tileKm: number = TILE_KM,
): SchematicLayout {
  if (geo.length === 0) return { tiles: [], width: 0, rows: 0 };
  const maxLat = Math.max(...geo.map((g) => g.lat));
  const minLon = Math.min(...geo.map((g) => g.lon));
  const units = new Map(MUNICIPALITIES.map((m) => [m.code, m]));
  const urban = (code: string) => units.get(code)?.kind === 'urban_okrug';
  const shared = (g: MunicipalityGeo) => geo.filter((o) => o.lat === g.lat && o.lon === g.lon).length;
  const order = [...geo].sort(
    (a, b) =>
      Number(urban(b.code)) - Number(urban(a.code)) ||
      (urban(a.code) ? (units.get(b.code)?.population ?? 0) - (units.get(a.code)?.population ?? 0) : 0) ||
      shared(a) - shared(b) ||
      a.code.localeCompare(b.code),
  );
  // Where each unit would like to be, in tile units: x to the east, y (rows) to the south.
  const items = order.map((g) => ({
    code: g.code,
    x: ((g.lon - minLon) * KM_PER_DEG_LON) / tileKm + 1,
    y: ((maxLat - g.lat) * KM_PER_DEG_LAT) / tileKm / ROW_STEP + 1,
    weight: urban(g.code) ? 4 : 1,
  }));
  const rows = Math.ceil(Math.max(...items.map((i) => i.y))) + 2;
  const cols = Math.ceil(Math.max(...items.map((i) => i.x))) + 2;
  const cost = (i: (typeof items)[number], cell: number) => {
    const r = Math.floor(cell / cols);
    const c = cell % cols;
    const dx = c + (r % 2 === 1 ? 0.5 : 0) - i.x;
    const dy = (r - i.y) * ROW_STEP;
    return i.weight * (dx * dx + dy * dy);
  };
  const owner = new Array<number>(rows * cols).fill(-1);
  const at: number[] = [];
  items.forEach((item, n) => {
    let best = -1;
    for (let cell = 0; cell < owner.length; cell++)
      if (owner[cell] === -1 && (best === -1 || cost(item, cell) < cost(item, best) - 1e-9)) best = cell;
    owner[best] = n;
    at[n] = best;
  });
  // Local search: move a tile to a free cell, or swap two tiles, while the total cost drops.
  for (let pass = 0, improved = true; improved && pass < 100; pass++) {
    improved = false;
    items.forEach((item, n) => {
      for (let cell = 0; cell < owner.length; cell++) {
        const here = at[n] as number;
        if (cell === here) continue;
        const m = owner[cell] as number;
        const other = items[m];
        const before = cost(item, here) + (other ? cost(other, cell) : 0);
        const after = cost(item, cell) + (other ? cost(other, here) : 0);
        if (after < before - 1e-9) {
          owner[here] = m;
          owner[cell] = n;
          at[n] = cell;
          if (other) at[m] = here;
          improved = true;
        }
      }
    });
  }
  const placed = items.map((item, n) => {
    const row = Math.floor((at[n] as number) / cols);
    return { code: item.code, x: ((at[n] as number) % cols) + (row % 2 === 1 ? 0.5 : 0), row };
  });
  // Drop the empty margins.
  const dx = Math.min(...placed.map((t) => t.x));
  const dr = Math.min(...placed.map((t) => t.row));
  const index = new Map(geo.map((g, i) => [g.code, i]));
  const tiles = placed
    .map((t) => ({ code: t.code, x: t.x - dx, row: t.row - dr }))
    .sort((a, b) => (index.get(a.code) ?? 0) - (index.get(b.code) ?? 0));
  return {
    tiles,
    width: Math.max(...tiles.map((t) => t.x)) + 1,
    rows: Math.max(...tiles.map((t) => t.row)) + 1,
  };
}
