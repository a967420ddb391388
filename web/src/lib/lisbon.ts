// A small bundled outline of the demo city (Lisbon and the Tagus estuary), hand-simplified
// from public coastline shapes to a few dozen points: enough to find your way offline, no
// tiles from the network. Coordinates are [lng, lat].
export type Ring = [number, number][];

export const BOUNDS = { west: -9.32, east: -8.92, south: 38.6, north: 38.86 };

// The water: the Atlantic west of Cascais line, the Tagus mouth and the estuary.
export const WATER: Ring[] = [
  [
    [-9.32, 38.6], [-9.32, 38.69], [-9.29, 38.69], [-9.262, 38.688], [-9.232, 38.691],
    [-9.212, 38.694], [-9.19, 38.697], [-9.17, 38.702], [-9.155, 38.705], [-9.14, 38.706],
    [-9.128, 38.709], [-9.118, 38.714], [-9.107, 38.727], [-9.098, 38.742],
    [-9.093, 38.758], [-9.092, 38.776], [-9.088, 38.795], [-9.075, 38.812],
    [-9.05, 38.83], [-9.02, 38.86], [-8.92, 38.86], [-8.92, 38.72], [-8.955, 38.75],
    [-8.975, 38.73], [-8.98, 38.705], [-9.0, 38.69], [-9.03, 38.675], [-9.06, 38.665],
    [-9.085, 38.655], [-9.1, 38.66], [-9.12, 38.672], [-9.145, 38.686], [-9.165, 38.681],
    [-9.19, 38.677], [-9.225, 38.672], [-9.24, 38.66], [-9.245, 38.64], [-9.235, 38.6],
  ],
];

// Parks and the airport, to recognise the city's shape.
export const GREEN: Ring[] = [
  // Monsanto forest park
  [[-9.215, 38.735], [-9.19, 38.745], [-9.175, 38.73], [-9.185, 38.715], [-9.21, 38.718]],
];
export const AIRPORT: Ring = [
  [-9.145, 38.765], [-9.12, 38.768], [-9.118, 38.785], [-9.138, 38.792], [-9.15, 38.78],
];

export const ROADS: Ring[] = [
  // 2ª Circular
  [[-9.2, 38.75], [-9.17, 38.752], [-9.145, 38.755], [-9.12, 38.76], [-9.1, 38.77]],
  // Eixo Norte-Sul to the 25 de Abril bridge
  [[-9.18, 38.69], [-9.177, 38.705], [-9.17, 38.73], [-9.16, 38.76]],
  // Vasco da Gama bridge
  [[-9.09, 38.79], [-9.04, 38.77], [-8.98, 38.75]],
  // Avenida da Liberdade / Avenida da República
  [[-9.139, 38.714], [-9.145, 38.72], [-9.148, 38.73], [-9.145, 38.745]],
];

export const PLACES: { name: string; lat: number; lng: number }[] = [
  { name: "Baixa", lat: 38.7115, lng: -9.138 },
  { name: "Alfama", lat: 38.712, lng: -9.13 },
  { name: "Belém", lat: 38.697, lng: -9.205 },
  { name: "Alcântara", lat: 38.705, lng: -9.175 },
  { name: "Avenidas Novas", lat: 38.738, lng: -9.147 },
  { name: "Benfica", lat: 38.75, lng: -9.2 },
  { name: "Lumiar", lat: 38.772, lng: -9.16 },
  { name: "Parque das Nações", lat: 38.765, lng: -9.097 },
  { name: "Almada", lat: 38.676, lng: -9.16 },
  { name: "Tejo", lat: 38.69, lng: -9.06 },
];
