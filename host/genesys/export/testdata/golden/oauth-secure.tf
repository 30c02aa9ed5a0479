# Genesys Cloud data action for the Switchboard action "verify caller",
# written by `switchboard export genesys --format terraform`.
# The integration's credential type is User Defined (OAuth), with the fields
# "clientId" and "clientSecret" holding Switchboard's inbound OAuth client.

variable "integration_id" {
  description = "ID of the Genesys Cloud web services data actions integration (custom-rest-actions) that calls Switchboard"
  type        = string
}

variable "category" {
  description = "Category of the data actions in Genesys Cloud, usually the integration's name"
  type        = string
  default     = "Switchboard"
}

resource "genesyscloud_integration_action" "verify_caller" {
  name                   = "verify caller"
  category               = var.category
  integration_id         = var.integration_id
  secure                 = true
  config_timeout_seconds = 60
  contract_input = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "verify caller input"
    "type"    = "object"
    "properties" = {
      "ani" = {
        "type"    = "string"
        "pattern" = "^\\+[0-9]{6,15}$"
      }
      "pin" = {
        "type" = "string"
      }
    }
    "required" = ["ani", "pin"]
  })
  contract_output = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "verify caller output"
    "type"    = "object"
    "properties" = {
      "verified" = {
        "type" = "boolean"
      }
      "tags" = {
        "type" = "array"
        "items" = {
          "type" = "string"
        }
      }
    }
  })
  config_request {
    request_url_template = "https://switchboard.example.com/actions/verify%20caller"
    request_type         = "POST"
    request_template     = "$${input.rawRequest}"
    headers = {
      "Authorization" = "Bearer $${authResponse.access_token}"
      "Content-Type"  = "application/json"
    }
  }
  config_response {
    translation_map          = {}
    translation_map_defaults = {}
    success_template         = "$${rawResult}"
  }
}

resource "genesyscloud_integration_custom_auth_action" "switchboard_auth" {
  integration_id = var.integration_id
  name           = "Switchboard (Auth)"
  config_request {
    request_url_template = "https://switchboard.example.com/oauth/token"
    request_type         = "POST"
    request_template     = "grant_type=client_credentials"
    headers = {
      "Authorization" = "Basic $encoding.base64(\"$${credentials.clientId}:$${credentials.clientSecret}\")"
      "Content-Type"  = "application/x-www-form-urlencoded"
    }
  }
  config_response {
    translation_map          = {}
    translation_map_defaults = {}
    success_template         = "$${rawResult}"
  }
}
