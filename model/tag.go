package model

// Tag is one tag of an account with how many of its contacts carry it.
type Tag struct {
	Name  string `json:"name" example:"vip"`
	Count int    `json:"count" example:"12" doc:"How many of the account's contacts carry this tag."`
}
