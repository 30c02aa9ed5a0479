# Genesys Cloud data action for the Switchboard action "fetchUserProfile",
# written by `switchboard export genesys --format terraform`.
# The integration's credential type is Basic Auth, with Switchboard's inbound
# basic user name and password; Genesys sends the Authorization header itself.

variable "integration_id" {
  description = "ID of the Genesys Cloud web services data actions integration (custom-rest-actions) that calls Switchboard"
  type        = string
}

variable "category" {
  description = "Category of the data actions in Genesys Cloud, usually the integration's name"
  type        = string
  default     = "Switchboard"
}

resource "genesyscloud_integration_action" "fetchUserProfile" {
  name                   = "fetchUserProfile"
  category               = var.category
  integration_id         = var.integration_id
  secure                 = false
  config_timeout_seconds = 8
  contract_input = jsonencode({
    "$schema"     = "http://json-schema.org/draft-04/schema#"
    "title"       = "fetchUserProfile input"
    "description" = "Look up a Genesys Cloud user"
    "type"        = "object"
    "properties" = {
      "userId" = {
        "type" = "string"
      }
    }
    "required" = ["userId"]
  })
  contract_output = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "fetchUserProfile output"
    "type"    = "object"
    "properties" = {
      "id" = {
        "type" = "string"
      }
      "name" = {
        "type" = "string"
      }
    }
    "required" = ["id", "name"]
  })
  config_request {
    request_url_template = "https://switchboard.example.com/actions/fetchUserProfile"
    request_type         = "POST"
    request_template     = "$${input.rawRequest}"
    headers = {
      "Content-Type" = "application/json"
    }
  }
  config_response {
    translation_map          = {}
    translation_map_defaults = {}
    success_template         = "$${rawResult}"
  }
}
