package vnpay

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"billing/internal/gateway"
)

// Protocol constants.
const (
	// Version is the only API version spoken.
	Version = "2.1.0"
	// TimeLayout is the wire format of every timestamp (GMT+7).
	TimeLayout = "20060102150405"
	// HashField carries the signature of pay requests and callbacks.
	HashField = "vnp_SecureHash"
	// TokenHashField carries the signature of token (snake_case) messages.
	TokenHashField = "vnp_secure_hash"
	// MaxOrderInfo is the longest vnp_OrderInfo VNPAY accepts.
	MaxOrderInfo = 255
)

// isHashField reports whether a parameter is a signature or signature type,
// which are never part of the signed data (in either naming style).
func isHashField(k string) bool {
	switch k {
	case "vnp_SecureHash", "vnp_SecureHashType", "vnp_secure_hash", "vnp_secure_hash_type":
		return true
	}
	return false
}

// Canonical returns the §3.1 data string: every non-empty vnp_ parameter
// except the signature fields, sorted by name (byte order), each name and
// value form-urlencoded (space → '+', other bytes → uppercase %XX), joined
// with '&'. It is byte for byte the query string that is sent, so a
// receiver re-encodes the decoded values rather than hashing raw query
// text. Parameters without the vnp_ prefix are ignored; of a repeated
// parameter only the first value counts (Verify rejects repeats).
func Canonical(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k, vs := range params {
		if !strings.HasPrefix(k, "vnp_") || isHashField(k) || len(vs) == 0 || vs[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(params[k][0]))
	}
	return b.String()
}

// SignData returns the lowercase hex HMAC-SHA512 of data keyed with the raw
// bytes of secret.
func SignData(secret, data string) string {
	mac := hmac.New(sha512.New, []byte(secret))
	mac.Write([]byte(data))
	return hex.EncodeToString(mac.Sum(nil))
}

// Sign returns the signature of params per §3.1: SignData over Canonical.
func Sign(secret string, params url.Values) string {
	return SignData(secret, Canonical(params))
}

// PipeData joins raw (not encoded) values with '|': the data string of the
// querydr and refund messages (§6). Absent optional values are passed as "".
func PipeData(fields ...string) string { return strings.Join(fields, "|") }

// HashEqual compares a computed signature with a received one in constant
// time, ignoring the case of the received hex.
func HashEqual(want, got string) bool {
	return hmac.Equal([]byte(want), []byte(strings.ToLower(got)))
}

// SignedQuery returns Canonical(params) followed by the signature in
// hashField: the query string (or form body) to send.
func SignedQuery(secret string, params url.Values, hashField string) string {
	data := Canonical(params)
	return data + "&" + hashField + "=" + SignData(secret, data)
}

// Verify checks the signature carried in hashField against the vnp_
// parameters of params. Non-vnp_ parameters are ignored; the signature is
// compared case-insensitively in constant time. A missing signature, a
// repeated vnp_ parameter or a mismatch is an error wrapping
// gateway.ErrInvalidSignature.
func Verify(secret string, params url.Values, hashField string) error {
	got := params[hashField]
	if len(got) != 1 || got[0] == "" {
		return fmt.Errorf("%w: missing or repeated %s", gateway.ErrInvalidSignature, hashField)
	}
	for k, vs := range params {
		if strings.HasPrefix(k, "vnp_") && len(vs) > 1 {
			return fmt.Errorf("%w: parameter %s repeated", gateway.ErrInvalidSignature, k)
		}
	}
	if !HashEqual(Sign(secret, params), got[0]) {
		return fmt.Errorf("%w: checksum mismatch", gateway.ErrInvalidSignature)
	}
	return nil
}

// fold maps Vietnamese (and common Latin-1) letters to their base letter.
var fold = func() map[rune]rune {
	m := map[rune]rune{}
	for base, letters := range map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậäåāą",
		'e': "èéẻẽẹêềếểễệëēę",
		'i': "ìíỉĩịïī",
		'o': "òóỏõọôồốổỗộơờớởỡợöøō",
		'u': "ùúủũụưừứửữựüū",
		'y': "ỳýỷỹỵÿ",
		'd': "đ",
		'c': "ç",
		'n': "ñ",
	} {
		for _, r := range letters {
			m[r] = base
			m[unicode.ToUpper(r)] = unicode.ToUpper(base)
		}
	}
	return m
}()

// safePunct is the punctuation kept by SanitizeText: characters every
// VNPAY demo encoder renders identically (§3.2).
const safePunct = "-_.,:/#"

// SanitizeText makes free text safe for VNPAY: Vietnamese diacritics are
// stripped ("Thanh toán đơn" → "Thanh toan don"), combining marks dropped,
// and everything but ASCII letters, digits, space and - _ . , : / # becomes
// a space; runs of spaces collapse, the ends are trimmed and the result is
// cut to max bytes (max ≤ 0 means no limit).
func SanitizeText(s string, max int) string {
	var b strings.Builder
	space := false
	put := func(r rune) {
		if r == ' ' {
			space = b.Len() > 0
			return
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	for _, r := range s {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(safePunct, r)):
			put(r)
		case fold[r] != 0:
			put(fold[r])
		case unicode.Is(unicode.Mn, r):
			// combining accent of decomposed text: drop it, keep the letter
		default:
			put(' ')
		}
	}
	out := b.String()
	if max > 0 && len(out) > max {
		out = strings.TrimRight(out[:max], " ")
	}
	return out
}
