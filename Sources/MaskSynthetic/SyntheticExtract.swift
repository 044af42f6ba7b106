/*!
 MaskSynthetic: the synthetic extract generator, `mask bench`'s input and the one
 `benchmarks/bench.py` and the tests use for their files. It is deterministic
 (SplitMix64, integer arithmetic only, no locale or Foundation formatting), so every machine
 and every run benches the same bytes for the same seed and row count.
 */

/// SplitMix64: tiny, fast, and the same sequence everywhere.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Multiply-shift instead of `%`: no division in the hot loop, and the bias is far below
    /// anything a benchmark input could show.
    @inline(__always) mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// 0..<100, so that distributions read as percentages.
    @inline(__always) mutating func percent() -> Int { below(100) }

    /// low...high, both included.
    @inline(__always) mutating func range(_ low: Int, _ high: Int) -> Int { low + below(high - low + 1) }

    @inline(__always) mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// A realistic production extract: ids, timestamps, names (Western, Indian and Japanese, romanised
/// and kanji, about a tenth written "Last, First"), emails (plus-addressing, subdomains, long TLDs,
/// upper case), phones in the national and international formats of eleven countries, amounts,
/// currencies, browser and app user agents, and free-text notes where a fifth of all rows mention
/// an email or a phone among hard negatives (dates, order numbers, IPv4 addresses, versions,
/// amounts, tracking and SKU numbers), with quotes, commas and line breaks.
///
/// CSV and JSONL made with the same seed hold the same records; JSONL adds an `orders` array
/// drawn from a second random stream, so that it cannot shift the shared fields.
public enum SyntheticExtract {
    public enum Format: String, Sendable { case csv, jsonl }

    public static let csvHeader = "id,created_at,full_name,email,phone,amount,currency,country,user_agent,notes\n"

    /// The seed `mask bench --synthetic` uses without `--seed`.
    public static let defaultSeed: UInt64 = 20_261_125

    /// Generates `rows` records in memory; the same arguments always give the same bytes.
    public static func generate(rows: Int, format: Format, seed: UInt64 = defaultSeed) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(max(rows, 0) * (format == .csv ? 215 : 400) + 128)
        var generator = ExtractGenerator(seed: seed, rows: rows)
        generator.header(format, into: &output)
        for id in stride(from: 1, through: rows, by: 1) { generator.record(id, format, into: &output) }
        return output
    }

    /// The same bytes as `generate`, handed to `sink` in blocks of about `blockSize` bytes, so
    /// that writing a million rows to a file never holds the whole extract in memory.
    public static func write(rows: Int, format: Format, seed: UInt64 = defaultSeed, blockSize: Int = 1 << 20,
                             to sink: ([UInt8]) throws -> Void) rethrows {
        var block: [UInt8] = []
        block.reserveCapacity(blockSize + 8192)
        var generator = ExtractGenerator(seed: seed, rows: rows)
        generator.header(format, into: &block)
        for id in stride(from: 1, through: rows, by: 1) {
            generator.record(id, format, into: &block)
            if block.count >= blockSize {
                try sink(block)
                block.removeAll(keepingCapacity: true)
            }
        }
        if !block.isEmpty { try sink(block) }
    }
}

// MARK: - Records

/// One record's fields are built into reused buffers and then written as CSV or JSON, so the two
/// formats share every draw and neither allocates per row.
struct ExtractGenerator {
    let vocabulary: Vocabulary
    let rows: Int
    var random: SplitMix64
    var orderRandom: SplitMix64
    var name: [UInt8] = []
    var email: [UInt8] = []
    var phone: [UInt8] = []
    var notes: [UInt8] = []
    var scratch: [UInt8] = []

    static let spanSeconds = 730 * 86_400

    init(seed: UInt64, rows: Int) {
        var random = SplitMix64(state: seed)
        vocabulary = Vocabulary(random: &random)
        self.random = random
        orderRandom = SplitMix64(state: seed &* 7919 &+ 17)
        self.rows = max(rows, 1)
    }

    func header(_ format: SyntheticExtract.Format, into out: inout [UInt8]) {
        if format == .csv { out.append(contentsOf: SyntheticExtract.csvHeader.utf8) }
    }

    mutating func record(_ id: Int, _ format: SyntheticExtract.Format, into out: inout [UInt8]) {
        name.removeAll(keepingCapacity: true)
        email.removeAll(keepingCapacity: true)
        phone.removeAll(keepingCapacity: true)
        notes.removeAll(keepingCapacity: true)

        let country = random.pick(vocabulary.countries)
        var style = country.style
        if style == .western && random.percent() < 5 { style = .japanese }
        let person = vocabulary.person(style, &random)
        vocabulary.writeName(person, into: &name)
        if random.percent() < 80 {
            vocabulary.email(first: person.first.ascii, last: person.last.ascii, &random, into: &email)
        } else {
            vocabulary.randomEmail(&random, into: &email)
        }
        let phoneRoll = random.percent()
        if phoneRoll >= 90 {
            vocabulary.anyPhone(&random, into: &phone)
        } else if phoneRoll >= 5 {
            vocabulary.phone(country.phone, &random, into: &phone)
        }
        let currency = random.percent() < 8 ? random.pick(vocabulary.otherCurrencies) : country.currency
        // Spread evenly over two years, in id order, with up to an hour of jitter.
        let seconds = id * Self.spanSeconds / rows + random.below(3600)
        let cents = vocabulary.amountCents(&random)
        let agent = random.pick(vocabulary.userAgents)
        vocabulary.notes(&random, into: &notes)

        switch format {
        case .csv:
            out.put(id)
            out.append(0x2C)
            vocabulary.timestamp(seconds, into: &out)
            out.append(0x2C)
            out.csvField(name)
            out.append(0x2C)
            out.csvField(email)
            out.append(0x2C)
            out.append(contentsOf: phone)
            out.append(0x2C)
            out.put(cents / 100)
            out.append(0x2E)
            out.put(cents % 100, width: 2)
            out.append(0x2C)
            out.append(contentsOf: currency)
            out.append(0x2C)
            out.append(contentsOf: country.code)
            out.append(0x2C)
            out.csvField(agent)
            out.append(0x2C)
            out.csvField(notes)
            out.append(0x0A)
        case .jsonl:
            out.put("{\"id\":")
            out.put(id)
            out.put(",\"created_at\":\"")
            vocabulary.timestamp(seconds, into: &out)
            out.put("\",\"name\":")
            out.jsonString(name)
            out.put(",\"contact\":{\"email\":")
            out.jsonString(email)
            out.put(",\"phone\":")
            if phone.isEmpty { out.put("null") } else { out.jsonString(phone) }
            out.put("},\"amount\":")
            out.jsonAmount(cents)
            out.put(",\"currency\":\"")
            out.append(contentsOf: currency)
            out.put("\",\"country\":\"")
            out.append(contentsOf: country.code)
            out.put("\",\"user_agent\":")
            out.jsonString(agent)
            out.put(",\"notes\":")
            out.jsonString(notes)
            out.put(",\"orders\":[")
            orders(into: &out)
            out.put("]}\n")
        }
    }

    /// 35 % none, 45 % one, 20 % two; the delivery phone is mostly the customer's own, sometimes
    /// another recipient's in any format, sometimes missing.
    mutating func orders(into out: inout [UInt8]) {
        let roll = orderRandom.percent()
        let count = roll < 35 ? 0 : (roll < 80 ? 1 : 2)
        for index in 0..<count {
            if index > 0 { out.append(0x2C) }
            out.put("{\"order_id\":\"")
            vocabulary.orderNumber(&orderRandom, into: &out)
            out.put("\",\"phone\":")
            let which = orderRandom.percent()
            if which < 60 && !phone.isEmpty {
                out.jsonString(phone)
            } else if which < 90 {
                scratch.removeAll(keepingCapacity: true)
                vocabulary.anyPhone(&orderRandom, into: &scratch)
                out.jsonString(scratch)
            } else {
                out.put("null")
            }
            out.append(0x7D)
        }
    }
}

// MARK: - Vocabulary

/// The data tables and the field generators. Everything here is a pure function of the random
/// stream passed in, so the JSONL orders can draw phones from their own stream.
struct Vocabulary {
    enum NameStyle { case western, indian, japanese }
    enum PhoneStyle { case us, jp, uk, de, fr, india, au, nl, es, sg }

    struct NamePart {
        let display: [UInt8]
        let upper: [UInt8]
        /// Lower-case ASCII letters and digits only, the way people turn a name into an email.
        let ascii: [UInt8]
    }

    struct Person {
        let first: NamePart
        let last: NamePart
        /// Given and family name in kanji, for Japanese people.
        let kanji: (given: [UInt8], family: [UInt8])?
        let form: Int
        let initial: UInt8
    }

    struct Country {
        let code: [UInt8]
        let currency: [UInt8]
        let style: NameStyle
        let phone: PhoneStyle
    }

    enum Negative {
        case order, refund, login, upgrade, ticket, batch, tracking, address, quote, payment, sku, japanese, plain, window, serial
    }

    enum Positive {
        case invoiceEmail, callback, altContact, voicemail, japanesePhone, forwarded, both, sms
    }

    let westernFirst: [NamePart]
    let westernLast: [NamePart]
    let indianFirst: [NamePart]
    let indianLast: [NamePart]
    let japaneseFamily: [(kanji: [UInt8], romaji: NamePart)]
    let japaneseGiven: [(kanji: [UInt8], romaji: NamePart)]
    let emailWords: [[UInt8]]
    let emailTags: [[UInt8]]
    let domains: [[UInt8]]
    let countries: [Country]
    let otherCurrencies: [[UInt8]]
    let usAreas: [Int]
    let japaneseAreas: [[UInt8]]
    let cities: [(city: [UInt8], postcode: [UInt8])]
    let streets: [[UInt8]]
    let agents: [[UInt8]]
    let products: [[UInt8]]
    let complaints: [[UInt8]]
    let japaneseNotes: [[UInt8]]
    let plainNotes: [[UInt8]]
    let userAgents: [[UInt8]]
    /// "YYYY-MM-DD" from 2023-01-01, for timestamps and for dates in notes.
    let days: [[UInt8]]
    let negatives: [Negative]
    let positives: [Positive]
    /// CA shares the US plan, hence twice.
    let anyPhoneStyles: [PhoneStyle] = [.us, .us, .jp, .uk, .de, .fr, .india, .au, .nl, .es, .sg]

    init(random: inout SplitMix64) {
        func bytes(_ words: String) -> [[UInt8]] { words.split(separator: " ").map { Array($0.utf8) } }
        func parts(_ names: [String]) -> [NamePart] { names.map(Self.namePart) }
        func expand<T>(_ weighted: [(T, Int)]) -> [T] { weighted.flatMap { Array(repeating: $0.0, count: $0.1) } }

        westernFirst = parts(Tables.westernFirst.split(separator: " ").map(String.init))
        westernLast = parts(Tables.westernLast.split(separator: " ").map(String.init) + Tables.westernLastWithSpaces)
        indianFirst = parts(Tables.indianFirst.split(separator: " ").map(String.init))
        indianLast = parts(Tables.indianLast.split(separator: " ").map(String.init))
        japaneseFamily = Tables.japaneseFamily.map { (Array($0.0.utf8), Self.namePart($0.1)) }
        japaneseGiven = Tables.japaneseGiven.map { (Array($0.0.utf8), Self.namePart($0.1)) }
        emailWords = bytes(Tables.emailWords)
        emailTags = bytes(Tables.emailTags)
        domains = expand(Tables.emailDomains.map { (Array($0.0.utf8), $0.1) })
        countries = expand(Tables.countries.map {
            (Country(code: Array($0.code.utf8), currency: Array($0.currency.utf8), style: $0.style, phone: $0.phone), $0.weight)
        })
        otherCurrencies = bytes(Tables.otherCurrencies)
        usAreas = Tables.usAreas
        japaneseAreas = expand(Tables.japaneseAreas.map { (Array($0.0.utf8), $0.1) })
        cities = Tables.cities.map { (Array($0.0.utf8), Array($0.1.utf8)) }
        streets = Tables.streets.map { Array($0.utf8) }
        agents = bytes(Tables.agents)
        products = Tables.products.map { Array($0.utf8) }
        complaints = Tables.complaints.map { Array($0.utf8) }
        japaneseNotes = Tables.japaneseNotes.map { Array($0.utf8) }
        plainNotes = Tables.plainNotes.map { Array($0.utf8) }
        days = (0..<800).map { day in
            var text: [UInt8] = []
            Self.civilDate(daysSince2023: day, into: &text)
            return text
        }
        negatives = expand([(.order, 6), (.refund, 4), (.login, 3), (.upgrade, 2), (.ticket, 3), (.batch, 2), (.tracking, 2),
                            (.address, 3), (.quote, 2), (.payment, 2), (.sku, 2), (.japanese, 3), (.plain, 6), (.window, 1),
                            (.serial, 1)])
        positives = expand([(.invoiceEmail, 3), (.callback, 3), (.altContact, 2), (.voicemail, 2), (.japanesePhone, 2),
                            (.forwarded, 2), (.both, 1), (.sms, 1)])
        userAgents = Self.userAgentPool(&random)
    }

    // MARK: Names and emails

    static func namePart(_ display: String) -> NamePart {
        NamePart(display: Array(display.utf8), upper: Array(display.uppercased().utf8), ascii: asciiFold(display))
    }

    /// Accents dropped, everything else that is not a letter or digit removed: "Lefèvre" gives
    /// "lefevre", "O'Connor" "oconnor", "van der Berg" "vanderberg". A fixed table rather than
    /// Unicode normalisation, so no platform library can change the result.
    static func asciiFold(_ text: String) -> [UInt8] {
        let bases: [(String, UInt8)] = [("àáâãäå", 0x61), ("ç", 0x63), ("èéêë", 0x65), ("ìíîï", 0x69), ("ñ", 0x6E),
                                        ("òóôõö", 0x6F), ("ùúûü", 0x75), ("ýÿ", 0x79)]
        var out: [UInt8] = []
        for scalar in text.lowercased().unicodeScalars {
            if scalar.isASCII {
                let byte = UInt8(scalar.value)
                if (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) { out.append(byte) }
            } else if let base = bases.first(where: { $0.0.unicodeScalars.contains(scalar) }) {
                out.append(base.1)
            }
        }
        return out
    }

    func person(_ style: NameStyle, _ random: inout SplitMix64) -> Person {
        switch style {
        case .japanese:
            let family = random.pick(japaneseFamily)
            let given = random.pick(japaneseGiven)
            return Person(first: given.romaji, last: family.romaji, kanji: (given.kanji, family.kanji), form: random.percent(), initial: 0)
        case .western, .indian:
            let first = random.pick(style == .indian ? indianFirst : westernFirst)
            let last = random.pick(style == .indian ? indianLast : westernLast)
            let form = random.percent()
            let needsInitial = (87..<93).contains(form) || form >= 98
            return Person(first: first, last: last, kanji: nil, form: form, initial: needsInitial ? UInt8(0x41 + random.below(26)) : 0)
        }
    }

    func writeName(_ person: Person, into out: inout [UInt8]) {
        let first = person.first, last = person.last
        if let kanji = person.kanji {
            switch person.form {
            case ..<40: out += kanji.family; out.append(0x20); out += kanji.given
            case ..<50: out += kanji.family; out += kanji.given
            case ..<80: out += first.display; out.append(0x20); out += last.display
            case ..<90: out += last.upper; out.append(0x20); out += first.display
            default: out += last.display; out.put(", "); out += first.display
            }
            return
        }
        switch person.form {
        case ..<78: out += first.display; out.append(0x20); out += last.display
        case ..<87: out += last.display; out.put(", "); out += first.display
        case ..<93: out += first.display; out.append(0x20); out.append(person.initial); out.put(". "); out += last.display
        case ..<96: out += first.upper; out.append(0x20); out += last.upper
        case ..<98: out.put("Dr. "); out += first.display; out.append(0x20); out += last.display
        default: out += last.display; out.put(", "); out += first.display; out.append(0x20); out.append(person.initial); out.append(0x2E)
        }
    }

    func email(first: [UInt8], last: [UInt8], _ random: inout SplitMix64, into out: inout [UInt8]) {
        let start = out.count
        switch random.percent() {
        case ..<25: out += first; out.append(0x2E); out += last
        case ..<45: out += first; out += last; out.put(random.below(100))
        case ..<55: out.append(first[0]); out += last
        case ..<62: out += first; out.append(0x5F); out += last
        case ..<70: out += first; out.append(0x2E); out += last; out.append(0x2B); out += random.pick(emailTags)
        case ..<78: out += last; out.append(0x2E); out += first; out.put(10 + random.below(90))
        case ..<90: out += random.pick(emailWords); out += random.pick(emailWords); out.put(random.below(1000))
        default: out += first; out.put(random.below(100_000))
        }
        out.append(0x40)
        let domainStart = out.count
        out += random.pick(domains)
        // Email bytes are ASCII here, so upper-casing is a bit flip.
        switch random.percent() {
        case ..<3:
            for index in start..<out.count where (0x61...0x7A).contains(out[index]) { out[index] -= 0x20 }
        case ..<7:
            for index in [start, domainStart] where (0x61...0x7A).contains(out[index]) { out[index] -= 0x20 }
        default: break
        }
    }

    /// Someone else's address: a forwarded mail, an alternative contact.
    func randomEmail(_ random: inout SplitMix64, into out: inout [UInt8]) {
        let person = person(random.percent() < 30 ? .japanese : .western, &random)
        email(first: person.first.ascii, last: person.last.ascii, &random, into: &out)
    }

    // MARK: Phones

    func anyPhone(_ random: inout SplitMix64, into out: inout [UInt8]) {
        phone(random.pick(anyPhoneStyles), &random, into: &out)
    }

    func phone(_ style: PhoneStyle, _ random: inout SplitMix64, into out: inout [UInt8]) {
        switch style {
        case .us:
            let area = random.pick(usAreas)
            let exchange = 200 + random.below(800)
            let line = random.below(10_000)
            switch random.percent() {
            case ..<30: out.put("+1 ("); out.put(area); out.put(") "); out.put(exchange); out.append(0x2D); out.put(line, width: 4)
            case ..<50: out.put(area); out.append(0x2E); out.put(exchange); out.append(0x2E); out.put(line, width: 4)
            case ..<75: out.put(area); out.append(0x2D); out.put(exchange); out.append(0x2D); out.put(line, width: 4)
            case ..<88: out.append(0x28); out.put(area); out.put(") "); out.put(exchange); out.append(0x2D); out.put(line, width: 4)
            case ..<95: out.put("+1"); out.put(area); out.put(exchange); out.put(line, width: 4)
            default: out.put("+1-"); out.put(area); out.append(0x2D); out.put(exchange); out.append(0x2D); out.put(line, width: 4)
            }
        case .jp:
            if random.percent() < 55 {
                let prefix = random.pick([90, 80, 70])
                let middle = random.below(10_000), line = random.below(10_000)
                switch random.percent() {
                case ..<60: out.append(0x30); out.put(prefix); out.append(0x2D); out.put(middle, width: 4); out.append(0x2D); out.put(line, width: 4)
                case ..<85: out.put("+81 "); out.put(prefix); out.append(0x2D); out.put(middle, width: 4); out.append(0x2D); out.put(line, width: 4)
                default: out.append(0x30); out.put(prefix); out.put(middle, width: 4); out.put(line, width: 4)
                }
                return
            }
            let area = random.pick(japaneseAreas)
            if area.count == 4 {  // 0120, toll free
                out.put("0120-"); out.digits(3, &random); out.append(0x2D); out.digits(3, &random)
                return
            }
            let middle = random.below(Self.powersOfTen[6 - area.count]), line = random.below(10_000)
            if random.percent() < 80 {
                out += area
            } else {
                out.put("+81-"); out += area.dropFirst()
            }
            out.append(0x2D); out.put(middle, width: 6 - area.count); out.append(0x2D); out.put(line, width: 4)
        case .uk:
            switch random.percent() {
            case ..<30: out.put("+44 20 "); out.put(1000 + random.below(9000)); out.append(0x20); out.digits(4, &random)
            case ..<55: out.put("020 "); out.put(1000 + random.below(9000)); out.append(0x20); out.digits(4, &random)
            case ..<80: out.put("+44 7"); out.digits(3, &random); out.append(0x20); out.digits(6, &random)
            default: out.put("07"); out.digits(3, &random); out.append(0x20); out.digits(6, &random)
            }
        case .de:
            switch random.percent() {
            case ..<35: out.put("+49 30 "); out.put(10_000_000 + random.below(90_000_000))
            case ..<55: out.put("030 "); out.put(1_000_000 + random.below(9_000_000))
            case ..<85: out.put("+49 15"); out.put(random.below(10)); out.append(0x20); out.digits(8, &random)
            default: out.put("015"); out.put(random.below(10)); out.append(0x20); out.digits(8, &random)
            }
        case .fr:
            let international = random.percent() < 55
            let first = random.percent() < 50 ? 1 + random.below(5) : (random.percent() < 70 ? 6 : 7)
            out.put(international ? "+33 " : "0")
            out.put(first)
            for _ in 0..<4 { out.append(0x20); out.digits(2, &random) }
        case .india:
            let head = 6 + random.below(4), middle = random.below(10_000), tail = random.below(100_000)
            let roll = random.percent()
            out.put(roll < 60 ? "+91 " : (roll < 80 ? "+91-" : (roll < 90 ? "0" : "")))
            out.put(head); out.put(middle, width: 4)
            if roll < 90 { out.append(roll < 60 || roll >= 80 ? 0x20 : 0x2D) }
            out.put(tail, width: 5)
        case .au:
            out.put(random.percent() < 60 ? "+61 4" : "04")
            out.digits(2, &random); out.append(0x20); out.digits(3, &random); out.append(0x20); out.digits(3, &random)
        case .nl:
            out.put(random.percent() < 60 ? "+31 6 " : "06-")
            out.digits(8, &random)
        case .es:
            out.put("+34 6"); out.digits(2, &random)
            for _ in 0..<3 { out.append(0x20); out.digits(2, &random) }
        case .sg:
            out.put("+65 "); out.put(8 + random.below(2)); out.digits(3, &random); out.append(0x20); out.digits(4, &random)
        }
    }

    static let powersOfTen = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000]

    // MARK: Amounts, dates, identifiers

    /// Mostly small baskets, a long tail up to about 91,000.
    func amountCents(_ random: inout SplitMix64) -> Int {
        switch random.percent() {
        case ..<55: return 99 + random.below(9000)
        case ..<90: return 1000 + random.below(90_000)
        case ..<98: return 10_000 + random.below(900_000)
        default: return 100_000 + random.below(9_000_000)
        }
    }

    func timestamp(_ seconds: Int, into out: inout [UInt8]) {
        let rest = seconds % 86_400
        out += days[seconds / 86_400]
        out.append(0x20); out.put(rest / 3600, width: 2)
        out.append(0x3A); out.put(rest / 60 % 60, width: 2)
        out.append(0x3A); out.put(rest % 60, width: 2)
        out.put("+00")
    }

    /// Howard Hinnant's days-to-civil, in integers.
    static func civilDate(daysSince2023: Int, into out: inout [UInt8]) {
        let z = daysSince2023 + 19_358 + 719_468  // 2023-01-01 is day 19358 of the Unix epoch
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        out.put(yoe + era * 400 + (month <= 2 ? 1 : 0))
        out.append(0x2D); out.put(month, width: 2)
        out.append(0x2D); out.put(day, width: 2)
    }

    func date(_ random: inout SplitMix64, into out: inout [UInt8]) { out += random.pick(days) }

    func orderNumber(_ random: inout SplitMix64, into out: inout [UInt8]) {
        out.put("ORD-"); out.put(2023 + random.below(3)); out.append(0x2D); out.digits(6, &random)
    }

    func amount(_ random: inout SplitMix64, into out: inout [UInt8]) {
        let cents = amountCents(&random)
        out.put(cents / 100); out.append(0x2E); out.put(cents % 100, width: 2)
    }

    func ipv4(_ random: inout SplitMix64, into out: inout [UInt8]) {
        let roll = random.percent()
        if roll < 30 {
            out.put("192.168.")
        } else if roll < 50 {
            out.put("10."); out.put(random.below(256)); out.append(0x2E)
        } else {
            out.put(1 + random.below(223)); out.append(0x2E); out.put(random.below(256)); out.append(0x2E)
        }
        out.put(random.below(256)); out.append(0x2E); out.put(1 + random.below(254))
    }

    func version(_ random: inout SplitMix64, into out: inout [UInt8]) {
        if random.percent() < 60 {
            out.put(1 + random.below(6)); out.append(0x2E); out.put(random.below(20)); out.append(0x2E); out.put(random.below(10))
        } else {
            out.put(random.below(130)); out.put(".0."); out.put(random.below(7000)); out.append(0x2E); out.put(random.below(200))
        }
    }

    // MARK: Notes

    /// 40 % empty; otherwise one to three hard-negative fragments, and for a third of those rows
    /// (a fifth of all rows) an email or phone fragment among them; 5 % of notes break lines.
    func notes(_ random: inout SplitMix64, into out: inout [UInt8]) {
        let roll = random.percent()
        if roll < 40 { return }
        let countRoll = random.percent()
        let count = countRoll < 70 ? 1 : (countRoll < 94 ? 2 : 3)
        let positiveAt = roll < 60 ? random.below(count + 1) : -1
        let separator: UInt8 = random.percent() < 5 ? 0x0A : 0x20
        for index in 0..<(positiveAt >= 0 ? count + 1 : count) {
            if index > 0 { out.append(separator) }
            if index == positiveAt {
                positive(random.pick(positives), &random, into: &out)
            } else {
                negative(random.pick(negatives), &random, into: &out)
            }
        }
    }

    func negative(_ kind: Negative, _ random: inout SplitMix64, into out: inout [UInt8]) {
        switch kind {
        case .order:
            out.put("Order "); orderNumber(&random, into: &out); out.put(" shipped on "); date(&random, into: &out); out.append(0x2E)
        case .refund:
            out.put("Refund of "); amount(&random, into: &out); out.append(0x20); out += random.pick(otherCurrencies)
            out.put(" issued for "); orderNumber(&random, into: &out); out.append(0x2E)
        case .login:
            out.put("Login from "); ipv4(&random, into: &out); out.put(" using app v"); version(&random, into: &out); out.append(0x2E)
        case .upgrade:
            out.put("Upgraded to plan v"); version(&random, into: &out); out.put(", invoice total "); amount(&random, into: &out)
            out.append(0x2E)
        case .ticket:
            out.put("Ticket #"); out.put(100_000 + random.below(900_000)); out.put(" closed by "); out += random.pick(agents)
            out.append(0x2E)
        case .batch:
            out.put("Batch "); out += random.pick(days).filter { $0 != 0x2D }; out.append(0x2D); out.digits(4, &random)
            out.put(" processed, "); out.put(1 + random.below(500)); out.put(" items.")
        case .tracking:
            out.put("Tracking 1Z"); out.digits(3, &random); out.put("AA1"); out.digits(10, &random); out.put(" via UPS, ETA ")
            date(&random, into: &out); out.append(0x2E)
        case .address:
            let place = random.pick(cities)
            out.put("Address updated: "); out.put(1 + random.below(2000)); out.append(0x20); out += random.pick(streets)
            out.put(", "); out += place.city; out.append(0x20); out += place.postcode; out.append(0x2E)
        case .quote:
            out.put("Customer wrote: \""); out += random.pick(complaints); out.put("\" re "); out += random.pick(products)
            out.append(0x2E)
        case .payment:
            out.put("Payment retried "); out.put(1 + random.below(5)); out.put(" times, last attempt "); date(&random, into: &out)
            out.append(0x20); out.put(random.below(24), width: 2); out.append(0x3A); out.put(random.below(60), width: 2)
            out.put(" UTC.")
        case .sku:
            out.put("SKU "); out.append(UInt8(0x41 + random.below(26))); out.append(UInt8(0x41 + random.below(26)))
            out.append(0x2D); out.digits(3, &random); out.append(0x2D); out.digits(4, &random); out.put(" backordered until ")
            date(&random, into: &out); out.append(0x2E)
        case .japanese:
            out += random.pick(japaneseNotes)
        case .plain:
            out += random.pick(plainNotes)
        case .window:
            let hour = 8 + random.below(10)
            out.put("Delivery window "); out.put(hour, width: 2); out.put(":00-"); out.put(hour + 3, width: 2)
            out.put(":00 requested.")
        case .serial:
            out.put("Device serial SN"); out.put(1_000_000_000 + random.below(9_000_000_000)); out.put(", firmware ")
            version(&random, into: &out); out.append(0x2E)
        }
    }

    func positive(_ kind: Positive, _ random: inout SplitMix64, into out: inout [UInt8]) {
        switch kind {
        case .invoiceEmail:
            out.put("Customer asked to send invoices to "); randomEmail(&random, into: &out); out.put(" from now on.")
        case .callback:
            out.put("Call back on "); anyPhone(&random, into: &out); out.put(" after 6pm.")
        case .altContact:
            let person = person(random.percent() < 70 ? .western : .japanese, &random)
            out.put("Alt contact: "); writeName(person, into: &out); out.put(" <")
            email(first: person.first.ascii, last: person.last.ascii, &random, into: &out); out.put(">.")
        case .voicemail:
            out.put("Left voicemail at "); anyPhone(&random, into: &out); out.put(", no answer.")
        case .japanesePhone:
            out.put("連絡先変更: "); phone(.jp, &random, into: &out)
        case .forwarded:
            out.put("Forwarded from "); randomEmail(&random, into: &out); out.put(", see thread.")
        case .both:
            out.put("Please reach me at "); anyPhone(&random, into: &out); out.put(" or "); randomEmail(&random, into: &out)
            out.append(0x2E)
        case .sms:
            out.put("SMS to "); anyPhone(&random, into: &out); out.put(" bounced.")
        }
    }

    // MARK: User agents

    /// Real-looking browser, app, bot and tool agents, weighted roughly like shop traffic, drawn
    /// once per seed; two fifths of the pool is empty (server-side and back-office rows).
    static func userAgentPool(_ random: inout SplitMix64) -> [[UInt8]] {
        let devices = ["SM-S918B", "SM-A546E", "Pixel 7", "Pixel 8 Pro", "K", "moto g(60)", "SO-51C", "SH-53C", "2201117TG",
                       "CPH2449", "SM-G991U", "M2102J20SG"]
        var pool: [[UInt8]] = []
        func add(_ agent: String, _ weight: Int) { pool += Array(repeating: Array(agent.utf8), count: weight) }
        let webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
        let safari = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
        for _ in 0..<150 {
            let chrome = "\(random.range(110, 126)).0.\(random.range(5400, 6500)).\(random.range(40, 220))"
            var ios = "\(random.range(15, 17))_\(random.range(0, 6))"
            if random.percent() >= 50 { ios += "_\(random.range(1, 3))" }
            let iosDot = ios.split(separator: "_").joined(separator: ".")
            let firefox = "\(random.range(115, 126)).0"
            add("Mozilla/5.0 (Windows NT 10.0; Win64; x64) \(webkit) Chrome/\(chrome) Safari/537.36", 8)
            add("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \(webkit) Chrome/\(chrome) Safari/537.36", 4)
            add("Mozilla/5.0 (X11; Linux x86_64) \(webkit) Chrome/\(chrome) Safari/537.36", 1)
            add("Mozilla/5.0 (Linux; Android \(random.range(10, 14)); \(random.pick(devices))) \(webkit) Chrome/\(chrome) Mobile Safari/537.36", 7)
            add("Mozilla/5.0 (iPhone; CPU iPhone OS \(ios) like Mac OS X) \(safari) Version/\(iosDot) Mobile/15E148 Safari/604.1", 9)
            add("Mozilla/5.0 (iPad; CPU OS \(ios) like Mac OS X) \(safari) Version/\(iosDot) Mobile/15E148 Safari/604.1", 1)
            add("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \(safari) Version/\(iosDot) Safari/605.1.15", 2)
            add("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:\(firefox)) Gecko/20100101 Firefox/\(firefox)", 2)
            add("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:\(firefox)) Gecko/20100101 Firefox/\(firefox)", 1)
            add("Mozilla/5.0 (Windows NT 10.0; Win64; x64) \(webkit) Chrome/\(chrome) Safari/537.36 Edg/\(chrome)", 3)
            add("Mozilla/5.0 (Linux; Android \(random.range(11, 14)); \(random.pick(devices))) \(webkit) SamsungBrowser/\(random.range(20, 25)).0 Chrome/\(chrome) Mobile Safari/537.36", 1)
            add("MyShop/\(random.range(4, 6)).\(random.range(0, 20)).\(random.range(0, 9)) (com.example.myshop; build:\(random.range(40000, 69999)); iOS \(iosDot)) Alamofire/5.\(random.range(6, 9)).\(random.range(0, 3))", 4)
            add("MyShop/\(random.range(4, 6)).\(random.range(0, 20)).\(random.range(0, 9)) (Android \(random.range(10, 14)); \(random.pick(devices))) okhttp/4.\(random.range(9, 12)).\(random.range(0, 3))", 4)
            add("okhttp/4.\(random.range(9, 12)).\(random.range(0, 3))", 1)
            let build = random.range(1, 9)
            add("Dalvik/2.1.0 (Linux; U; Android \(random.range(10, 14)); \(random.pick(devices)) Build/TQ3A.\(random.range(230101, 240601)).00\(build))", 1)
            add("python-requests/2.\(random.range(25, 32)).\(random.range(0, 3))", 1)
            add("curl/8.\(random.range(0, 8)).\(random.range(0, 1))", 1)
        }
        add("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 20)
        add("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 10)
        add("", pool.count * 2 / 3)
        return pool
    }
}

// MARK: - Tables

/// The word lists, kept apart from the logic that draws from them.
enum Tables {
    static let westernFirst = """
        James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara \
        Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa \
        Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily \
        Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah \
        Oliver Amelia Harry Isla Jack Ava Noah Mia Leo Freya Lukas Hannah Jonas Lena Felix \
        Mila Hugo Chloé Louis Léa Gabriel Inès Raphaël Zoë Renée José Sofía Mateo Lucía \
        Mary-Jane Jean-Luc Anna-Lena Seán Siobhán Björn Jörg Åsa Ingrid Pieter Daan Sanne
        """
    static let westernLast = """
        Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez \
        Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson \
        White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott \
        Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter \
        O'Connor O'Brien McDonald MacLeod Smith-Jones Fitzgerald-Hart Müller Schmidt Schneider \
        Fischer Weber Meyer Wagner Becker Schäfer Koch Dubois Lefèvre Moreau Laurent Girard \
        Bonnet Rousseau García Fernández Martínez López Rossi Russo Bianchi Ferrari Esposito \
        Jansen Bakker Visser Kowalski Nowak Andersson Johansson Nielsen \
        Kim Park Chen Wang Li Zhang Liu Tran Pham Nakamura
        """
    static let westernLastWithSpaces = ["de Vries", "van der Berg", "van Dijk", "de la Cruz", "St. John"]
    static let indianFirst = "Aarav Vivaan Aditya Arjun Rahul Rohan Vikram Sanjay Amit Rajesh Priya Ananya Diya Kavya Sneha Pooja Neha Anjali Lakshmi Deepika Ishaan Karthik Meera"
    static let indianLast = "Sharma Verma Gupta Patel Singh Kumar Reddy Iyer Nair Rao Khan Das Mehta Joshi Chopra Banerjee Mukherjee Pillai Menon Agarwal"
    static let japaneseFamily = [
        ("佐藤", "Sato"), ("鈴木", "Suzuki"), ("高橋", "Takahashi"), ("田中", "Tanaka"), ("伊藤", "Ito"), ("渡辺", "Watanabe"),
        ("山本", "Yamamoto"), ("中村", "Nakamura"), ("小林", "Kobayashi"), ("加藤", "Kato"), ("吉田", "Yoshida"), ("山田", "Yamada"),
        ("佐々木", "Sasaki"), ("山口", "Yamaguchi"), ("松本", "Matsumoto"), ("井上", "Inoue"), ("木村", "Kimura"), ("林", "Hayashi"),
        ("斎藤", "Saito"), ("清水", "Shimizu"), ("山崎", "Yamazaki"), ("森", "Mori"), ("池田", "Ikeda"), ("橋本", "Hashimoto"),
        ("阿部", "Abe"), ("石川", "Ishikawa"), ("山下", "Yamashita"), ("中島", "Nakajima"), ("前田", "Maeda"), ("藤田", "Fujita"),
        ("小川", "Ogawa"), ("後藤", "Goto"), ("岡田", "Okada"), ("長谷川", "Hasegawa"), ("村上", "Murakami"), ("近藤", "Kondo"),
    ]
    static let japaneseGiven = [
        ("太郎", "Taro"), ("花子", "Hanako"), ("翔太", "Shota"), ("陽菜", "Hina"), ("大輔", "Daisuke"), ("美咲", "Misaki"),
        ("健太", "Kenta"), ("さくら", "Sakura"), ("拓也", "Takuya"), ("結衣", "Yui"), ("蓮", "Ren"), ("葵", "Aoi"), ("大翔", "Hiroto"),
        ("陽翔", "Haruto"), ("由美", "Yumi"), ("直樹", "Naoki"), ("恵", "Megumi"), ("誠", "Makoto"), ("裕子", "Yuko"), ("浩", "Hiroshi"),
        ("明美", "Akemi"), ("和也", "Kazuya"), ("真由美", "Mayumi"), ("悠真", "Yuma"), ("凛", "Rin"), ("一郎", "Ichiro"),
        ("智子", "Tomoko"), ("隆", "Takashi"), ("愛", "Ai"), ("翼", "Tsubasa"),
    ]
    static let emailWords = "sunny blue red dragon tiger panda ninja coffee pixel quantum rocket maple sakura ocean river storm shadow lucky happy silver golden wolf fox cat dev admin info hello mail user test neko hoshi"
    static let emailTags = "shop news work bank amazon 2024 spam receipts billing travel rakuten promo"
    /// Free mail dominates; corporate subdomains and long new TLDs are the cases detectors miss.
    static let emailDomains = [
        ("gmail.com", 30), ("yahoo.com", 6), ("outlook.com", 7), ("hotmail.com", 4), ("hotmail.co.uk", 2), ("icloud.com", 6),
        ("me.com", 1), ("yahoo.co.jp", 5), ("docomo.ne.jp", 2), ("ezweb.ne.jp", 1), ("softbank.ne.jp", 1), ("i.softbank.jp", 1),
        ("gmx.de", 2), ("web.de", 2), ("t-online.de", 1), ("orange.fr", 2), ("free.fr", 1), ("laposte.net", 1), ("proton.me", 2),
        ("protonmail.com", 1), ("rediffmail.com", 1), ("btinternet.com", 1), ("live.co.uk", 1), ("aol.com", 1), ("fastmail.fm", 1),
        ("mail.acme-corp.com", 2), ("eu.mail.globex-industries.io", 1), ("sales.initech.co.jp", 1),
        ("students.cs.univ-tokyo.ac.jp", 1), ("alumni.stanford.edu", 1), ("nhs.net", 1), ("corp.example-bank.co.uk", 1),
        ("dept.kyoto-u.ac.jp", 1), ("studio-lumiere.photography", 1), ("northwind.technology", 1), ("blue-harbor.consulting", 1),
        ("kitchen.restaurant", 1), ("globalaid.international", 1), ("wanderlust.travel", 1), ("myshop.store", 1), ("x.team", 1),
        ("mail.ru", 1), ("qq.com", 1), ("naver.com", 1), ("uol.com.br", 1),
    ]
    /// Weights add up to 100.
    static let countries: [(code: String, weight: Int, currency: String, style: Vocabulary.NameStyle, phone: Vocabulary.PhoneStyle)] = [
        ("US", 30, "USD", .western, .us), ("JP", 20, "JPY", .japanese, .jp), ("GB", 12, "GBP", .western, .uk),
        ("DE", 10, "EUR", .western, .de), ("FR", 8, "EUR", .western, .fr), ("IN", 8, "INR", .indian, .india),
        ("CA", 4, "CAD", .western, .us), ("AU", 3, "AUD", .western, .au), ("NL", 2, "EUR", .western, .nl),
        ("ES", 2, "EUR", .western, .es), ("SG", 1, "SGD", .western, .sg),
    ]
    static let otherCurrencies = "USD EUR USD EUR GBP JPY CHF SEK KRW BRL"
    static let usAreas = [201, 202, 206, 212, 213, 305, 310, 312, 347, 404, 415, 424, 469, 503, 512, 602, 617, 646, 650, 702, 713,
                          718, 773, 786, 805, 818, 858, 917, 929, 949]
    static let japaneseAreas = [("03", 4), ("06", 4), ("045", 2), ("052", 2), ("011", 1), ("092", 1), ("075", 1), ("0120", 1)]
    static let cities = [("Springfield", "62704"), ("Portland", "97205"), ("Austin", "78701"), ("Leeds", "LS1 4AP"), ("Berlin", "10115"),
                         ("Lyon", "69002"), ("Osaka", "530-0001"), ("Toronto", "M5V 2T6"), ("Mumbai", "400001"), ("Sydney", "2000"),
                         ("Utrecht", "3511 LX"), ("Sevilla", "41001")]
    static let streets = ["Main St", "Oak Avenue", "High Street", "Hauptstraße", "rue de la Paix", "Elm Road", "Station Rd",
                          "Calle Mayor", "Baker Street", "King's Road", "1-2-3 Umeda", "Lakeview Dr"]
    static let agents = "alice bob carol dmitri emi farah gustavo hana ivan jun kate liam ops-bot support-tier2"
    static let products = ["wireless earbuds", "USB-C hub", "coffee grinder", "yoga mat", "4K monitor", "standing desk", "rice cooker",
                           "running shoes", "phone case", "gift card", "office chair", "e-reader", "water bottle", "backpack"]
    static let complaints = ["the box was crushed", "wrong size, need a M", "never received it", "charged twice", "item is scratched",
                             "not as described", "arrived late", "I want a refund", "missing parts", "works great, thanks!"]
    static let japaneseNotes = ["配送日時の変更依頼あり。", "返品受付済み、返金処理中。", "ギフト包装を希望。", "不在のため再配達を依頼。",
                                "領収書の再発行を希望されています。", "住所変更済み。", "お問い合わせ対応完了。", "商品に傷あり、交換対応。"]
    static let plainNotes = ["VIP customer.", "Prefers email contact.", "Do not call before 9am.", "Gift order.", "Fraud check passed.",
                             "Address verified.", "Requested invoice copy.", "Loyalty tier: gold.", "Chargeback opened.",
                             "Subscription paused.", "Asked about bulk pricing.", "Newsletter opt-out.", "Duplicate account merged.",
                             "Tax exempt certificate on file."]
}

// MARK: - Byte writing

extension Array where Element == UInt8 {
    @inline(__always) mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Decimal, zero-padded to `width`; by hand so that no formatter or locale is involved.
    mutating func put(_ value: Int, width: Int = 1) {
        var count = 1
        var limit = 10
        while limit <= value && count < 19 {
            count += 1
            limit &*= 10
        }
        let total = Swift.max(count, width)
        let end = self.count + total
        append(contentsOf: repeatElement(0x30, count: total))
        var rest = value
        var index = end - 1
        while rest > 0 {
            self[index] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        }
    }

    /// `count` random digits, leading zeros allowed.
    @inline(__always) mutating func digits(_ count: Int, _ random: inout SplitMix64) {
        put(random.below(Vocabulary.powersOfTen[count]), width: count)
    }

    /// RFC 4180: quoted only when needed, quotes doubled.
    mutating func csvField(_ field: [UInt8]) {
        guard field.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
            append(contentsOf: field)
            return
        }
        append(0x22)
        for byte in field {
            if byte == 0x22 { append(0x22) }
            append(byte)
        }
        append(0x22)
    }

    /// UTF-8 passes through; quotes, backslashes and control characters are escaped.
    mutating func jsonString(_ text: [UInt8]) {
        append(0x22)
        if !text.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            append(contentsOf: text)
        } else {
            for byte in text {
                switch byte {
                case 0x22: put("\\\"")
                case 0x5C: put("\\\\")
                case 0x0A: put("\\n")
                case 0x0D: put("\\r")
                case 0x09: put("\\t")
                case ..<0x20:
                    put("\\u00")
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    append(hex[Int(byte >> 4)])
                    append(hex[Int(byte & 0xF)])
                default: append(byte)
                }
            }
        }
        append(0x22)
    }

    /// The shortest decimal, as a float would print: 12.5, 100.0, 19.99.
    mutating func jsonAmount(_ cents: Int) {
        put(cents / 100)
        append(0x2E)
        let fraction = cents % 100
        if fraction % 10 == 0 { put(fraction / 10) } else { put(fraction, width: 2) }
    }
}
