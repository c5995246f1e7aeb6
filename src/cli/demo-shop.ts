/**
 * The demo shop `npm run seed` makes, through the public REST API only (so it works against any
 * running platform, one process or four services): a catalog in several categories, discounts,
 * customers, orders walked through every status, and reviews of what was delivered. Every run is
 * a batch of its own (new customers, new products), so a second run adds to the first.
 */

export interface DemoShopOptions {
  /** The platform's base URL, e.g. http://localhost:8080. */
  baseUrl: string;
  adminToken: string;
  /** A token for customer `sub`; undefined when only an admin token is at hand. */
  customerToken: ((sub: string) => Promise<string>) | undefined;
  customers: number;
  ordersPerStatus: number;
  /** Told after every request, with what is done of the whole plan. */
  progress: (done: number, total: number, step: string) => void;
}

export interface DemoShopSummary {
  batch: string;
  products: number;
  discounts: number;
  customers: number;
  ordersByStatus: Record<OrderStatus, number>;
  reviews: number;
}

type OrderStatus = "pending" | "paid" | "shipped" | "delivered" | "cancelled";
const STATUSES: readonly OrderStatus[] = ["pending", "paid", "shipped", "delivered", "cancelled"];
/** The status changes that lead from pending to each status (API: allowed status changes). */
const PATH_TO: Record<OrderStatus, OrderStatus[]> = {
  pending: [],
  paid: ["paid"],
  shipped: ["paid", "shipped"],
  delivered: ["paid", "shipped", "delivered"],
  cancelled: ["cancelled"],
};

const CATALOG: readonly { name: string; category: string; priceCents: number; description: string }[] = [
  { name: "Espresso cup", category: "kitchen", priceCents: 1299, description: "Porcelain, 80 ml" },
  { name: "Pour-over kettle", category: "kitchen", priceCents: 4900, description: "Gooseneck, 1 l" },
  { name: "Chef's knife", category: "kitchen", priceCents: 8900, description: "20 cm, carbon steel" },
  { name: "Cutting board", category: "kitchen", priceCents: 3500, description: "End-grain oak" },
  { name: "Cast-iron pan", category: "kitchen", priceCents: 6500, description: "26 cm, pre-seasoned" },
  { name: "Linen apron", category: "kitchen", priceCents: 2800, description: "Stonewashed" },
  { name: "Desk lamp", category: "home", priceCents: 7400, description: "Warm LED, dimmable" },
  { name: "Wool throw", category: "home", priceCents: 9900, description: "130 × 170 cm" },
  { name: "Ceramic vase", category: "home", priceCents: 3900, description: "Hand-thrown" },
  { name: "Scented candle", category: "home", priceCents: 2400, description: "Cedar and fig, 40 h" },
  { name: "Wall clock", category: "home", priceCents: 5600, description: "Silent sweep movement" },
  { name: "Notebook", category: "office", priceCents: 1500, description: "A5, dotted, 192 pages" },
  { name: "Fountain pen", category: "office", priceCents: 4200, description: "Steel nib, medium" },
  { name: "Desk organizer", category: "office", priceCents: 2900, description: "Walnut" },
  { name: "Monitor stand", category: "office", priceCents: 6900, description: "Bamboo, two shelves" },
  { name: "Running shoes", category: "sports", priceCents: 11900, description: "Neutral, 8 mm drop" },
  { name: "Yoga mat", category: "sports", priceCents: 4500, description: "Natural rubber, 4 mm" },
  { name: "Water bottle", category: "sports", priceCents: 2200, description: "Insulated, 750 ml" },
  { name: "Jump rope", category: "sports", priceCents: 1800, description: "Weighted handles" },
  { name: "Paperback: The Long Road", category: "books", priceCents: 1400, description: "A novel" },
  { name: "Cookbook: Fire and Salt", category: "books", priceCents: 3200, description: "120 recipes" },
  { name: "Field guide to birds", category: "books", priceCents: 2600, description: "Illustrated" },
  { name: "Wireless earbuds", category: "electronics", priceCents: 12900, description: "Noise cancelling" },
  { name: "Phone charger", category: "electronics", priceCents: 2500, description: "30 W, USB-C" },
];
const COMMENTS = [
  "Exactly as described.",
  "Great quality for the price.",
  "Arrived quickly and well packed.",
  "Does the job; nothing special.",
  "Would buy again.",
  "A gift, and a success.",
];

/** Requests in flight at once: fast enough, and gentle with a small machine. */
const PARALLEL = 8;

export async function seedDemoShop(options: DemoShopOptions): Promise<DemoShopSummary> {
  const batch = Date.now().toString(36).slice(-5);
  const api = new DemoApi(options.baseUrl);
  const admin = options.adminToken;
  const customers = Array.from(
    { length: options.customers },
    (_, index) => `demo-${batch}-customer-${index + 1}`,
  );
  const totalOrders = options.ordersPerStatus * STATUSES.length;
  const changes = STATUSES.reduce((sum, status) => sum + PATH_TO[status].length, 0) * options.ordersPerStatus;
  const plannedReviews = Math.min(options.ordersPerStatus, customers.length * 3);
  let total = CATALOG.length + 3 + totalOrders + changes + (options.customerToken ? plannedReviews : 0);
  let done = 0;
  const step = (name: string) => options.progress(++done, total, name);

  // The catalog: enough stock for every order of the batch and then some.
  const products = await inParallel(CATALOG, async (item) => {
    const product = await api.send<{ id: string }>("POST", "/products", admin, {
      name: item.name,
      description: item.description,
      category: item.category,
      price_cents: item.priceCents,
      stock: 50 + options.ordersPerStatus * 3,
    });
    step("products");
    return product.id;
  });

  // Discounts: two in force now, one that starts next week.
  const day = 24 * 60 * 60 * 1000;
  const discounts = [
    {
      name: `Kitchen week ${batch}`,
      percent_off: 15,
      product_ids: products.slice(0, 6),
      from: -day,
      to: 7 * day,
    },
    {
      name: `Books sale ${batch}`,
      percent_off: 30,
      product_ids: products.slice(19, 22),
      from: -day,
      to: 3 * day,
    },
    {
      name: `Sports launch ${batch}`,
      percent_off: 10,
      product_ids: products.slice(15, 19),
      from: 7 * day,
      to: 14 * day,
    },
  ];
  for (const discount of discounts) {
    await api.send("POST", "/discounts", admin, {
      name: discount.name,
      description: "Demo data",
      percent_off: discount.percent_off,
      product_ids: discount.product_ids,
      starts_at: new Date(Date.now() + discount.from).toISOString(),
      ends_at: new Date(Date.now() + discount.to).toISOString(),
    });
    step("discounts");
  }

  // Orders: ordersPerStatus of each status, spread over the customers, one to three lines each.
  const plans = STATUSES.flatMap((status) =>
    Array.from({ length: options.ordersPerStatus }, (_, index) => ({ status, index })),
  );
  const tokens = new Map<string, string>();
  const tokenOf = async (customer: string) => {
    if (options.customerToken === undefined) return undefined;
    let token = tokens.get(customer);
    if (token === undefined) {
      token = await options.customerToken(customer);
      tokens.set(customer, token);
    }
    return token;
  };
  const delivered: { customer: string; productIds: string[] }[] = [];
  await inParallel(plans, async ({ status, index }, position) => {
    const customer = customers[position % customers.length] as string;
    const lines = pick(products, 1 + (index % 3)).map((productId) => ({
      product_id: productId,
      quantity: 1 + (index % 2),
    }));
    const token = await tokenOf(customer);
    const order = await api.send<{ id: string }>(
      "POST",
      "/orders",
      token ?? admin,
      token === undefined ? { user_id: customer, items: lines } : { items: lines },
    );
    step("orders");
    for (const next of PATH_TO[status]) {
      await api.send("PATCH", `/orders/${order.id}`, admin, { status: next });
      step("orders");
    }
    if (status === "delivered")
      delivered.push({ customer, productIds: lines.map((line) => line.product_id) });
  });

  // Reviews of delivered products by the customers who bought them (verified purchases).
  let reviews = 0;
  if (options.customerToken !== undefined) {
    const seen = new Set<string>();
    const wanted = delivered
      .flatMap(({ customer, productIds }) => productIds.map((productId) => ({ customer, productId })))
      .filter(({ customer, productId }) => {
        const key = `${customer} ${productId}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, plannedReviews);
    total -= plannedReviews - wanted.length;
    await inParallel(wanted, async ({ customer, productId }, position) => {
      await api.send("POST", `/products/${productId}/reviews`, (await tokenOf(customer)) as string, {
        rating: 3 + (position % 3),
        comment: COMMENTS[position % COMMENTS.length],
      });
      reviews++;
      step("reviews");
    });
  }

  return {
    batch,
    products: products.length,
    discounts: discounts.length,
    customers: customers.length,
    ordersByStatus: Object.fromEntries(STATUSES.map((status) => [status, options.ordersPerStatus])) as Record<
      OrderStatus,
      number
    >,
    reviews,
  };
}

/** `count` different items of `items`, starting at a random place. */
function pick<T>(items: readonly T[], count: number): T[] {
  const start = Math.floor(Math.random() * items.length);
  return Array.from({ length: count }, (_, offset) => items[(start + offset * 7) % items.length] as T);
}

/** `work` for every item, at most PARALLEL at once; results in the items' order. */
async function inParallel<T, R>(
  items: readonly T[],
  work: (item: T, position: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const position = next++;
      results[position] = await work(items[position] as T, position);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
}

/** The REST API, failing on any answer but success with what the platform said. */
class DemoApi {
  constructor(private readonly baseUrl: string) {}

  async send<T = unknown>(method: string, path: string, token: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new Error(`cannot reach ${this.baseUrl} (${(error as Error).message}): is the platform running?`);
    }
    const text = await response.text();
    if (!response.ok) {
      const detail = text.startsWith("{") ? (JSON.parse(text) as { detail?: string }).detail : text;
      throw new Error(`${method} ${path} answered ${response.status}: ${detail ?? text}`);
    }
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }
}
