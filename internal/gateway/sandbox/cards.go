package sandbox

// TestOTP is the OTP every test card accepts; any other gives code 13.
const TestOTP = "123456"

// Test card numbers (§8 of the protocol reference, plus CardTimeout).
const (
	CardSuccess          = "9704198526191432198"
	CardInsufficientFund = "9704195798459170488"
	CardNotActivated     = "9704192181368742"
	CardLocked           = "9704193370791314"
	CardExpired          = "9704194841945513"
	// CardTimeout is the sandbox's own: payments with it time out (11),
	// and charges of its token hang (see OutcomeTimeout).
	CardTimeout = "9704000000000018"
)

// Token charge outcomes for LinkTestToken.
const (
	OutcomeSuccess           = "success"
	OutcomeInsufficientFunds = "insufficient_funds"
	OutcomeTimeout           = "timeout"
)

var outcomeCards = map[string]string{
	OutcomeSuccess:           CardSuccess,
	OutcomeInsufficientFunds: CardInsufficientFund,
	OutcomeTimeout:           CardTimeout,
}

// Card is a sandbox test card and what it does.
type Card struct {
	Number string
	Bank   string // vnp_BankCode
	Type   string // vnp_CardType: ATM, VISA, MASTERCARD, JCB
	// Domestic cards link as vnp_card_type 01, international ones as 02.
	Domestic    bool
	Description string
	// PayCode is the hosted page's vnp_ResponseCode with this card.
	PayCode string
	// LinkCode is the link page's vnp_response_code with this card.
	LinkCode string
	// Charge is how charges of its token end: an Outcome constant.
	Charge string
}

// TestCards lists every card the sandbox knows, in page order.
var TestCards = []Card{
	{CardSuccess, "NCB", "ATM", true, "NCB – thành công", "00", "00", OutcomeSuccess},
	{CardInsufficientFund, "NCB", "ATM", true, "NCB – không đủ số dư (51)", "51", "00", OutcomeInsufficientFunds},
	{CardNotActivated, "NCB", "ATM", true, "NCB – thẻ chưa kích hoạt (09)", "09", "09", ""},
	{CardLocked, "NCB", "ATM", true, "NCB – thẻ bị khóa (12)", "12", "12", ""},
	{CardExpired, "NCB", "ATM", true, "NCB – thẻ hết hạn (99)", "99", "99", ""},
	{CardTimeout, "NCB", "ATM", true, "NCB – quá thời gian (11; token treo)", "11", "00", OutcomeTimeout},
	{"4456530000001005", "VISA", "VISA", false, "VISA – thành công", "00", "00", OutcomeSuccess},
	{"4456530000001096", "VISA", "VISA", false, "VISA 3-D Secure – thành công", "00", "00", OutcomeSuccess},
	{"5200000000001005", "MASTERCARD", "MASTERCARD", false, "MasterCard – thành công", "00", "00", OutcomeSuccess},
	{"5200000000001096", "MASTERCARD", "MASTERCARD", false, "MasterCard 3-D Secure – thành công", "00", "00", OutcomeSuccess},
	{"3337000000000008", "JCB", "JCB", false, "JCB – thành công", "00", "00", OutcomeSuccess},
	{"3337000000200004", "JCB", "JCB", false, "JCB 3-D Secure – thành công", "00", "00", OutcomeSuccess},
}

// FindCard returns the test card with number.
func FindCard(number string) (Card, bool) {
	for _, c := range TestCards {
		if c.Number == number {
			return c, true
		}
	}
	return Card{}, false
}

// Masked returns the card number as shown to merchants: the first six and
// last four digits, e.g. 970419******2198.
func (c Card) Masked() string {
	if len(c.Number) < 10 {
		return "******"
	}
	return c.Number[:6] + "******" + c.Number[len(c.Number)-4:]
}

func (c Card) linkType() string {
	if c.Domestic {
		return "01"
	}
	return "02"
}
