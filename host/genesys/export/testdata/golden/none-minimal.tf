# Genesys Cloud data action for the Switchboard action "echo",
# written by `switchboard export genesys --format terraform`.

variable "integration_id" {
  description = "ID of the Genesys Cloud web services data actions integration (custom-rest-actions) that calls Switchboard"
  type        = string
}

variable "category" {
  description = "Category of the data actions in Genesys Cloud, usually the integration's name"
  type        = string
  default     = "Switchboard"
}

resource "genesyscloud_integration_action" "echo" {
  name                   = "echo"
  category               = var.category
  integration_id         = var.integration_id
  secure                 = false
  config_timeout_seconds = 60
  contract_input = jsonencode({
    "$schema"              = "http://json-schema.org/draft-04/schema#"
    "title"                = "echo input"
    "type"                 = "object"
    "properties"           = {}
    "additionalProperties" = true
  })
  contract_output = jsonencode({
    "$schema"              = "http://json-schema.org/draft-04/schema#"
    "title"                = "echo output"
    "type"                 = "object"
    "properties"           = {}
    "additionalProperties" = true
  })
  config_request {
    request_url_template = "https://switchboard.example.com/actions/echo"
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
