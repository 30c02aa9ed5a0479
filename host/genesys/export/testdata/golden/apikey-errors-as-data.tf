# Genesys Cloud data action for the Switchboard action "lookupOrder",
# written by `switchboard export genesys --format terraform`.
# The integration's credential type is User Defined, with the field "apiKey"
# holding one of Switchboard's inbound API keys (sent as X-Switchboard-Key).

variable "integration_id" {
  description = "ID of the Genesys Cloud web services data actions integration (custom-rest-actions) that calls Switchboard"
  type        = string
}

variable "category" {
  description = "Category of the data actions in Genesys Cloud, usually the integration's name"
  type        = string
  default     = "Switchboard"
}

resource "genesyscloud_integration_action" "lookupOrder" {
  name                   = "lookupOrder"
  category               = var.category
  integration_id         = var.integration_id
  secure                 = false
  config_timeout_seconds = 3
  contract_input = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "Order lookup"
    "type"    = "object"
    "properties" = {
      "orderId" = {
        "type"      = "string"
        "minLength" = 1
      }
      "verbose" = {
        "type" = ["boolean", "null"]
      }
    }
    "required"             = ["orderId"]
    "additionalProperties" = false
  })
  contract_output = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "lookupOrder output"
    "type"    = "object"
    "properties" = {
      "state" = {
        "type" = "string"
        "enum" = ["open", "shipped"]
      }
      "total" = {
        "type" = "number"
      }
      "ok" = {
        "type"        = "boolean"
        "description" = "true when the action succeeded; false when it failed, and status, code, message and retryable say why"
      }
      "status" = {
        "type"        = "integer"
        "description" = "HTTP status of the failure"
      }
      "code" = {
        "type"        = "string"
        "description" = "machine-readable error code, such as action_not_found"
      }
      "message" = {
        "type"        = "string"
        "description" = "human-readable description of the failure"
      }
      "retryable" = {
        "type"        = "boolean"
        "description" = "whether running the action again may succeed"
      }
    }
    "required" = ["ok"]
  })
  config_request {
    request_url_template = "https://switchboard.example.com/gateway/actions/lookupOrder"
    request_type         = "POST"
    request_template     = "$${input.rawRequest}"
    headers = {
      "Content-Type"      = "application/json"
      "X-Switchboard-Key" = "$${credentials.apiKey}"
    }
  }
  config_response {
    translation_map          = {}
    translation_map_defaults = {}
    success_template         = "$${rawResult}"
  }
}
