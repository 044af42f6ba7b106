/*!
 MaskBench: measures what a rule set costs, per rule set, per detector and per field.

 Inputs are held in memory and replayed, so that file and pipe I/O never dominate the figures:
 `mask bench` reports the cost of the rules, not of the disk. The synthetic extract generator
 here is deterministic (SplitMix64 with a fixed seed), so every machine benches the same bytes.
 */
import Foundation

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

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    mutating func digits(_ count: Int) -> String {
        var text = ""
        for _ in 0..<count { text.append(Character(Unicode.Scalar(UInt8(0x30 + below(10))))) }
        return text
    }
}

/// A realistic production extract: ids, timestamps, names (Western, Japanese, Indian; some
/// needing quotes), emails, phones in mixed international formats, amounts, currencies,
/// countries, user agents, and free-text notes where about a fifth of rows mention an email or
/// a phone among hard negatives (dates, order numbers, IPv4 addresses, versions, amounts).
public enum SyntheticExtract {
    public enum Format: String, Sendable { case csv, jsonl }

    public static let csvHeader = "id,created_at,full_name,email,phone,amount,currency,country,user_agent,notes\n"

    static let firstNames = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "Oliver", "Amelia",
                             "Lukas", "Hannah", "Chloé", "José", "Sofía", "Seán", "Björn", "Jean-Luc", "Aarav", "Priya",
                             "Ananya", "Rahul", "Taro", "Hanako", "Yui", "Ren"]
    static let lastNames = ["Smith", "Johnson", "Williams", "Garcia", "Miller", "O'Connor", "Müller", "Schmidt", "Dubois",
                            "Lefèvre", "Rossi", "de Vries", "Sharma", "Patel", "Iyer", "Sato", "Suzuki", "Takahashi", "Tanaka"]
    static let kanjiNames = ["佐藤 太郎", "鈴木 花子", "高橋 翔太", "田中 陽菜", "山本 大輔", "中村 美咲"]
    static let domains = ["gmail.com", "yahoo.co.jp", "outlook.com", "example.com", "mail.example.org", "ezweb.ne.jp",
                          "corp.example.co.uk", "web.de", "orange.fr", "company.technology"]
    static let currencies = [("USD", "US"), ("JPY", "JP"), ("EUR", "DE"), ("GBP", "GB"), ("EUR", "FR"), ("INR", "IN")]
    static let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.130 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
        "MyShop/5.1.3 (Android 14; 2201117TG) okhttp/4.12.3", "curl/8.0.1", "python-requests/2.31.0",
    ]
    static let plainNotes = ["VIP customer.", "Prefers email contact.", "Do not call before 9am.", "配送日時の変更依頼あり。",
                             "Gift wrapping requested.", ""]

    static func phone(_ random: inout SplitMix64) -> String {
        switch random.below(9) {
        case 0: return "+1 (\(200 + random.below(700))) 555-\(random.digits(4))"
        case 1: return "\(200 + random.below(700)).555.\(random.digits(4))"
        case 2: return "0\(random.pick(["90", "80", "70"]))-\(random.digits(4))-\(random.digits(4))"
        case 3: return "03-\(random.digits(4))-\(random.digits(4))"
        case 4: return "+81 \(random.pick(["90", "80"]))-\(random.digits(4))-\(random.digits(4))"
        case 5: return "+44 20 \(random.digits(4)) \(random.digits(4))"
        case 6: return "+49 30 \(random.digits(8))"
        case 7: return "+33 1 \(random.digits(2)) \(random.digits(2)) \(random.digits(2)) \(random.digits(2))"
        default: return "+91 9\(random.digits(4)) \(random.digits(5))"
        }
    }

    static func email(_ random: inout SplitMix64, first: String, last: String) -> String {
        let ascii = { (text: String) in String(text.lowercased().unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || $0 == "-") }) }
        var local = random.chance(50) ? "\(ascii(first)).\(ascii(last))" : "\(ascii(first))\(random.below(1000))"
        if local.isEmpty || local == "." { local = "user\(random.below(100000))" }
        if random.chance(10) { local += "+shop" }
        let text = "\(local)@\(random.pick(domains))"
        return random.chance(10) ? text.uppercased() : text
    }

    static func note(_ random: inout SplitMix64, email: String) -> String {
        let negatives = [
            "Order ORD-2024-\(random.digits(6)) shipped on 2024-0\(1 + random.below(9))-1\(random.below(10)).",
            "Login from 10.\(random.below(256)).\(random.below(256)).\(random.below(256)) with app 5.\(random.below(20)).\(random.below(10)).",
            "Refund of \(random.below(900) + 100).\(random.digits(2)) EUR approved, invoice INV-\(random.digits(8)).",
            "Ticket #\(random.digits(6)) closed at 14:\(10 + random.below(50)).",
        ]
        let roll = random.below(100)
        if roll < 10 { return "Customer asked to be called on \(phone(&random)), \(random.pick(negatives))" }
        if roll < 20 { return "Forwarded to \(email) — \"urgent\", see \(random.pick(negatives))" }
        if roll < 25 { return "Multi-line note:\nfirst line\n\(random.pick(negatives))" }
        if roll < 60 { return random.pick(negatives) }
        return random.pick(plainNotes)
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Generates `rows` records; the same arguments always give the same bytes.
    public static func generate(rows: Int, format: Format, seed: UInt64 = 20261125) -> [UInt8] {
        var random = SplitMix64(state: seed)
        var output: [UInt8] = []
        output.reserveCapacity(rows * (format == .csv ? 210 : 300))
        if format == .csv { output += Array(csvHeader.utf8) }
        var seconds = 1_672_531_200  // 2023-01-01 00:00:00 UTC
        for id in 1...max(rows, 1) where rows > 0 {
            seconds += random.below(120)
            let first = random.pick(firstNames)
            let last = random.pick(lastNames)
            let name: String
            switch random.below(10) {
            case 0: name = random.pick(kanjiNames)
            case 1: name = "\(last), \(first)"
            default: name = "\(first) \(last)"
            }
            let mail = email(&random, first: first, last: last)
            let tel = random.chance(5) ? "" : phone(&random)
            let cents = random.below(500_000)
            let amount = "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
            let (currency, country) = random.pick(currencies)
            let agent = random.pick(agents)
            let text = note(&random, email: random.chance(50) ? mail.lowercased() : email(&random, first: random.pick(firstNames), last: random.pick(lastNames)))
            let created = timestamp(seconds)
            switch format {
            case .csv:
                let fields = [String(id), created, csvField(name), mail, tel, amount, currency, country, csvField(agent), csvField(text)]
                output += Array((fields.joined(separator: ",") + "\n").utf8)
            case .jsonl:
                var orders: [String] = []
                for _ in 0..<random.below(3) {
                    let orderPhone = random.chance(30) ? jsonString(phone(&random)) : "null"
                    orders.append("{\"order_id\":\"ORD-\(random.digits(8))\",\"phone\":\(orderPhone)}")
                }
                let line = "{\"id\":\(id),\"created_at\":\(jsonString(created)),\"name\":\(jsonString(name)),"
                    + "\"contact\":{\"email\":\(jsonString(mail)),\"phone\":\(tel.isEmpty ? "null" : jsonString(tel))},"
                    + "\"amount\":\(amount),\"currency\":\"\(currency)\",\"country\":\"\(country)\","
                    + "\"user_agent\":\(jsonString(agent)),\"notes\":\(jsonString(text)),\"orders\":[\(orders.joined(separator: ","))]}\n"
                output += Array(line.utf8)
            }
        }
        return output
    }

    static func timestamp(_ seconds: Int) -> String {
        let days = seconds / 86400
        let rest = seconds % 86400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))+00"
    }
}
