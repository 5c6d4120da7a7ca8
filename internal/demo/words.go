package demo

// item is a kind of product a store sells and the median price, in cents,
// it goes for before the store's own price level and per-product jitter.
type item struct {
	name  string
	price int64
	sized bool // takes the category's variants: a kettle has no "250g"
}

// category is a store's line of business. Names, catalogue and basket
// sizes all come from it so that a store called "…-coffee" sells coffee.
type category struct {
	words    []string // store-name words
	items    []item
	quals    []string // qualifiers, or titles when itemInParens
	variants []string // optional size/colour suffixes
	blurbs   []string // category-specific description sentences
	// itemInParens names products "Qual (Item)", which suits books, where
	// the qualifier is a title and the item a format.
	itemInParens bool
	freeShip     int64 // subtotal in cents from which shipping is free
	shipping     int64 // flat shipping fee in cents below freeShip
}

var categories = []category{
	{
		words: []string{"coffee", "roasters", "coffee-co", "espresso", "beans"},
		items: []item{
			{"House Blend", 1499, true}, {"Espresso Blend", 1699, true}, {"Ethiopia Yirgacheffe", 1999, true},
			{"Colombia Huila", 1799, true}, {"Guatemala Antigua", 1849, true}, {"Sumatra Mandheling", 1899, true},
			{"Decaf Swiss Water", 1599, true}, {"Cold Brew Concentrate", 1299, false}, {"Burr Grinder", 8999, false},
			{"Pour-Over Kettle", 5499, false}, {"Ceramic Mug", 1899, false}, {"French Press", 3499, false},
			{"Paper Filters", 699, false}, {"Travel Tumbler", 2799, false}, {"Subscription Box", 4500, false},
		},
		quals:    []string{"Organic", "Dark Roast", "Medium Roast", "Light Roast", "Fair Trade", "Small Batch", "Limited", "Classic"},
		variants: []string{"250g", "500g", "1kg", "Whole Bean", "Ground"},
		blurbs: []string{
			"Roasted to order in small batches.", "Notes of dark chocolate, cherry and toasted almond.",
			"Sourced directly from the growers we visit every season.", "Bright, clean and sweet in the cup.",
			"Our baristas' favourite for milk drinks.", "Built to last through years of daily brewing.",
		},
		freeShip: 4000, shipping: 499,
	},
	{
		words:        []string{"books", "bookshop", "press", "reads", "bookstore"},
		items:        []item{{"Paperback", 1499, false}, {"Hardcover", 2699, false}, {"Signed Edition", 3999, false}, {"Box Set", 5999, false}, {"Audiobook CD", 2499, false}, {"Large Print", 1999, false}},
		quals:        []string{"The Quiet Orchard", "A Map of Small Things", "Salt and Silver", "The Lighthouse Keeper", "Winter Garden", "The Last Cartographer", "Northern Lights", "River of Glass", "The Glass Menagerie", "Letters from the Coast", "An Atlas of Clouds", "The Paper Fox", "Midnight Library Cats", "Field Notes", "The Long Way Home", "Sea of Tranquility"},
		itemInParens: true,
		blurbs: []string{
			"A staff pick for this season.", "Shortlisted for three literary prizes.",
			"A sweeping story of family, memory and the sea.", "Perfect for book clubs.",
			"Beautifully illustrated throughout.", "The long-awaited sequel.",
		},
		freeShip: 3500, shipping: 399,
	},
	{
		words: []string{"outdoor", "outfitters", "gear", "trail", "adventure"},
		items: []item{
			{"Trail Running Shoes", 12999, true}, {"Daypack 24L", 7999, true}, {"Insulated Jacket", 18999, true},
			{"Merino Base Layer", 6999, true}, {"Trekking Poles", 8999, false}, {"Headlamp", 3999, false},
			{"Sleeping Bag", 14999, false}, {"Camp Stove", 6499, false}, {"Water Filter", 4499, false},
			{"Rain Shell", 15999, true}, {"Hiking Socks", 1999, true}, {"Two-Person Tent", 27999, false},
		},
		quals:    []string{"Ultralight", "Alpine", "Summit", "Ridge", "Basecamp", "Expedition", "Trail", "All-Weather"},
		variants: []string{"S", "M", "L", "XL", "Forest Green", "Slate", "Orange"},
		blurbs: []string{
			"Tested on long days in the backcountry.", "Packs down small and weighs next to nothing.",
			"Made with recycled materials.", "Built for wet and windy conditions.",
			"Trusted by guides and weekend hikers alike.",
		},
		freeShip: 7500, shipping: 699,
	},
	{
		words: []string{"apparel", "clothing", "threads", "wear", "tailors"},
		items: []item{
			{"Crew Neck Tee", 2999, true}, {"Oxford Shirt", 6999, true}, {"Chino Trousers", 7999, true},
			{"Wool Sweater", 11999, true}, {"Denim Jacket", 12999, true}, {"Linen Dress", 8999, true},
			{"Hoodie", 6499, true}, {"Beanie", 2499, true}, {"Canvas Tote", 2999, false}, {"Socks Three-Pack", 1999, true},
		},
		quals:    []string{"Organic Cotton", "Relaxed", "Slim Fit", "Heavyweight", "Vintage Wash", "Everyday", "Recycled", "Classic"},
		variants: []string{"XS", "S", "M", "L", "XL", "Black", "Navy", "Oat", "Olive"},
		blurbs: []string{
			"Cut and sewn in a family-run factory.", "Soft from the first wear.",
			"A wardrobe staple that only gets better with age.", "Pre-shrunk and garment dyed.",
			"Designed in-house, made in small runs.",
		},
		freeShip: 10000, shipping: 599,
	},
	{
		words: []string{"home", "living", "interiors", "homeware", "house"},
		items: []item{
			{"Throw Blanket", 8999, true}, {"Linen Cushion", 3999, true}, {"Table Lamp", 11999, true},
			{"Stoneware Vase", 4999, true}, {"Scented Candle", 2899, false}, {"Wall Mirror", 14999, false},
			{"Woven Basket", 3999, true}, {"Bath Towel Set", 6999, true}, {"Picture Frame", 2499, false}, {"Side Table", 19999, true},
		},
		quals:    []string{"Handwoven", "Nordic", "Rustic", "Minimal", "Oak", "Terracotta", "Linen", "Artisan"},
		variants: []string{"Natural", "Charcoal", "Sage", "Sand", "Small", "Large"},
		blurbs: []string{
			"Handmade, so every piece is a little different.", "Brings warmth to any room.",
			"Designed to be lived with.", "Sustainably sourced materials.", "Pairs beautifully with our linen range.",
		},
		freeShip: 8000, shipping: 799,
	},
	{
		words: []string{"pets", "pet-supply", "paws", "petshop", "pet-co"},
		items: []item{
			{"Dog Bed", 7999, true}, {"Cat Tree", 11999, false}, {"Grain-Free Kibble", 5499, false},
			{"Chew Toy", 1299, true}, {"Leather Collar", 2999, true}, {"Leash", 2499, true},
			{"Treat Pouch", 1899, false}, {"Catnip Mouse", 699, false}, {"Grooming Brush", 1999, true}, {"Travel Bowl", 1499, true},
		},
		quals:    []string{"Cosy", "Durable", "Natural", "Orthopedic", "Tough", "Organic", "Reflective", "Everyday"},
		variants: []string{"Small", "Medium", "Large"},
		blurbs: []string{
			"Vet recommended.", "Made for enthusiastic chewers.", "Machine washable cover.",
			"Loved by dogs and cats on our team.", "No artificial colours or preservatives.",
		},
		freeShip: 5000, shipping: 599,
	},
	{
		words: []string{"beauty", "skincare", "apothecary", "botanicals", "naturals"},
		items: []item{
			{"Face Serum", 3899, true}, {"Day Cream", 3299, true}, {"Cleansing Balm", 2799, true},
			{"Lip Balm", 899, false}, {"Hand Cream", 1499, true}, {"Body Oil", 3499, true},
			{"Clay Mask", 2499, true}, {"Shampoo Bar", 1299, false}, {"Gift Set", 5999, false},
		},
		quals:    []string{"Rosehip", "Lavender", "Vitamin C", "Hydrating", "Calming", "Neroli", "Unscented", "Botanical"},
		variants: []string{"30ml", "50ml", "100ml", "Travel Size"},
		blurbs: []string{
			"Vegan and cruelty free.", "Gentle enough for sensitive skin.", "Made with cold-pressed oils.",
			"Dermatologist tested.", "A little goes a long way.",
		},
		freeShip: 4500, shipping: 399,
	},
	{
		words: []string{"toys", "toybox", "games", "play", "toy-co"},
		items: []item{
			{"Wooden Train Set", 4999, true}, {"Building Blocks", 3499, true}, {"Board Game", 3999, true},
			{"Jigsaw Puzzle", 2299, true}, {"Plush Bear", 2499, false}, {"Kite", 1999, false},
			{"Art Kit", 2999, true}, {"Marble Run", 5499, true}, {"Card Game", 1499, true}, {"Dollhouse", 12999, false},
		},
		quals:    []string{"Classic", "Rainbow", "Deluxe", "Mini", "Family", "Explorer", "Wooden", "Magnetic"},
		variants: []string{"Ages 3+", "Ages 5+", "Ages 8+", "Travel Edition"},
		blurbs: []string{
			"Hours of screen-free fun.", "Made from sustainably harvested wood.", "A family favourite for game night.",
			"Safety tested to EN71.", "Encourages creative play.",
		},
		freeShip: 5000, shipping: 499,
	},
	{
		words: []string{"electronics", "tech", "gadgets", "audio", "devices"},
		items: []item{
			{"Wireless Earbuds", 7999, true}, {"Bluetooth Speaker", 5999, true}, {"USB-C Charger", 2999, false},
			{"Mechanical Keyboard", 12999, true}, {"Wireless Mouse", 3999, true}, {"Smart Plug", 1999, false},
			{"Power Bank", 3499, true}, {"Noise-Cancelling Headphones", 24999, true}, {"4K Webcam", 14999, false},
			{"Braided Cable", 1499, false}, {"Laptop Stand", 4499, true},
		},
		quals:    []string{"Pro", "Mini", "Max", "Lite", "Studio", "Travel", "Gen 2", "Ultra"},
		variants: []string{"Black", "White", "Space Grey", "Midnight Blue"},
		blurbs: []string{
			"Two-year warranty included.", "Works with iOS, Android and Windows.", "All-day battery life.",
			"Fast charging over USB-C.", "Our best-reviewed model yet.",
		},
		freeShip: 5000, shipping: 599,
	},
	{
		words: []string{"garden", "plants", "nursery", "seeds", "greenhouse"},
		items: []item{
			{"Monstera", 3499, true}, {"Fiddle Leaf Fig", 5999, true}, {"Herb Seed Kit", 1499, false},
			{"Terracotta Pot", 1999, true}, {"Pruning Shears", 2999, false}, {"Potting Mix", 1299, false},
			{"Watering Can", 2799, false}, {"Raised Bed", 12999, false}, {"Snake Plant", 2999, true}, {"Gardening Gloves", 1599, false},
		},
		quals:    []string{"Heirloom", "Organic", "Pet-Friendly", "Low-Light", "Heritage", "Compact", "Variegated", "Hardy"},
		variants: []string{"12cm", "17cm", "21cm", "27cm"},
		blurbs: []string{
			"Grown in our own greenhouse.", "Thrives on a bright windowsill.", "Comes with care instructions.",
			"Peat free.", "Ideal for beginners.",
		},
		freeShip: 6000, shipping: 699,
	},
	{
		words: []string{"tea", "teahouse", "infusions", "leaf", "tea-co"},
		items: []item{
			{"Earl Grey", 1199, true}, {"Sencha", 1499, true}, {"Assam Breakfast", 999, true},
			{"Jasmine Pearls", 1899, true}, {"Rooibos Chai", 1099, true}, {"Oolong", 1799, true},
			{"Matcha", 2499, true}, {"Cast Iron Teapot", 4999, false}, {"Glass Infuser", 1899, false}, {"Tasting Set", 2999, false},
		},
		quals:    []string{"Organic", "First Flush", "Loose Leaf", "Smoked", "Ceremonial", "Spiced", "Rare", "Classic"},
		variants: []string{"50g", "100g", "250g", "Tin", "Refill"},
		blurbs: []string{
			"Hand-blended in small batches.", "Brew at 80°C for three minutes.", "Direct from family estates.",
			"Naturally caffeine free.", "A calm cup for slow mornings.",
		},
		freeShip: 3000, shipping: 399,
	},
	{
		words: []string{"bikes", "cycles", "cycling", "bike-shop", "velo"},
		items: []item{
			{"Road Bike", 129999, true}, {"Helmet", 7999, true}, {"Bike Lights", 3999, false},
			{"Inner Tube", 899, false}, {"Cycling Jersey", 5999, true}, {"Floor Pump", 4499, false},
			{"Saddle Bag", 2999, true}, {"U-Lock", 5999, false}, {"Bar Tape", 1999, true}, {"Clipless Pedals", 8999, false},
		},
		quals:    []string{"Aero", "Carbon", "Commuter", "Gravel", "Race", "Touring", "Reflective", "Lightweight"},
		variants: []string{"S", "M", "L", "XL"},
		blurbs: []string{
			"Serviced and tuned by our workshop.", "Built for long days in the saddle.", "Tested on cobbles and climbs.",
			"Fits most road and gravel bikes.", "Bright enough for unlit lanes.",
		},
		freeShip: 6000, shipping: 599,
	},
	{
		words: []string{"jewelry", "jewels", "silverworks", "gems", "goldsmiths"},
		items: []item{
			{"Pendant Necklace", 6999, false}, {"Stud Earrings", 3999, false}, {"Stacking Ring", 4499, true},
			{"Charm Bracelet", 5999, false}, {"Hoop Earrings", 4999, false}, {"Signet Ring", 11999, true}, {"Anklet", 2999, false},
		},
		quals:    []string{"Sterling Silver", "Gold Vermeil", "Rose Gold", "Moonstone", "Pearl", "Hammered", "Minimal", "Birthstone"},
		variants: []string{"Size 5", "Size 6", "Size 7", "Size 8", "Size 9"},
		blurbs: []string{
			"Handmade in our studio.", "Arrives in a recycled gift box.", "Nickel free.",
			"Designed to be worn every day.", "Engraving available on request.",
		},
		freeShip: 5000, shipping: 399,
	},
	{
		words: []string{"paper", "stationery", "ink", "notebooks", "paper-co"},
		items: []item{
			{"Dot Grid Notebook", 1899, true}, {"Fountain Pen", 4999, true}, {"Greeting Card", 499, false},
			{"Washi Tape Set", 1299, false}, {"Weekly Planner", 2499, true}, {"Ink Bottle", 1499, false},
			{"Sketchbook", 1999, true}, {"Brass Ruler", 1599, false}, {"Gel Pen Pack", 999, false},
		},
		quals:    []string{"A5", "Pocket", "Recycled", "Linen-Bound", "Letterpress", "Botanical", "Undated", "Classic"},
		variants: []string{"Black", "Sage", "Terracotta", "Navy"},
		blurbs: []string{
			"Fountain pen friendly paper.", "Lays flat when open.", "Printed in small runs on recycled stock.",
			"A thoughtful gift for letter writers.", "Designed by independent illustrators.",
		},
		freeShip: 3000, shipping: 299,
	},
	{
		words: []string{"kitchen", "cookware", "pantry", "kitchenware", "provisions"},
		items: []item{
			{"Cast Iron Skillet", 5999, true}, {"Chef's Knife", 8999, false}, {"Dutch Oven", 14999, true},
			{"Olive Oil", 2299, false}, {"Cutting Board", 4499, false}, {"Spice Set", 2999, false},
			{"Linen Apron", 3299, false}, {"Pasta Maker", 7999, false}, {"Sea Salt Flakes", 899, false}, {"Mixing Bowls", 3999, false},
		},
		quals:    []string{"Enamelled", "Pre-Seasoned", "Japanese Steel", "Olive Wood", "Extra Virgin", "Professional", "Stoneware", "Artisan"},
		variants: []string{"20cm", "24cm", "28cm"},
		blurbs: []string{
			"Built to be handed down.", "Oven safe to 260°C.", "Chosen by our chefs.",
			"Cold pressed from a single harvest.", "Hand wash to keep it at its best.",
		},
		freeShip: 6000, shipping: 699,
	},
}

// collections tell apart products a big catalogue would otherwise name
// twice, as real shops do with ranges and editions.
var collections = []string{
	"Signature", "Heritage", "Studio", "Everyday", "Limited Edition", "Anniversary",
	"Gift Edition", "Spring Collection", "Autumn Collection", "Essentials",
}

// closers end a description with the kind of line every shop repeats.
var closers = []string{
	"Ships within 2 business days.", "Free returns within 30 days.", "A customer favourite.",
	"Gift wrapping available at checkout.", "Limited stock.", "Back in stock by popular demand.",
	"Only available online.", "Reviewed 4.8 out of 5 by our customers.",
}

// Store-name building blocks: brand words that read like real shops.
var (
	nameAdjs = []string{
		"blue", "red", "copper", "silver", "golden", "little", "old", "wild", "urban", "north",
		"true", "bright", "quiet", "happy", "lucky", "honest", "humble", "sunny", "misty", "rustic",
		"green", "salty", "velvet", "cozy", "merry",
	}
	nameNouns = []string{
		"fern", "oak", "pine", "maple", "river", "harbor", "fox", "owl", "bear", "sparrow",
		"stone", "meadow", "willow", "birch", "cedar", "lantern", "anchor", "summit", "hollow", "thistle",
		"moose", "heron", "clover", "pebble", "acorn",
	}
	nameBrands = []string{
		"acme", "northwind", "brightside", "evergreen", "bluebird", "redwood", "moonrise", "saltwater",
		"ironwood", "highland", "wildflower", "fieldstone", "greenleaf", "starling", "blackbird",
		"oakridge", "riverbend", "tidewater", "sundial", "wayfarer", "driftwood", "kestrel", "larkspur",
		"juniper", "hearth",
	}
	nameTails = []string{"co", "shop", "store", "market", "supply", "goods", "house", "studio"}
)
