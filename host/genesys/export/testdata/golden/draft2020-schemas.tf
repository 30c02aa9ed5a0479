# Genesys Cloud data action for the Switchboard action "quote",
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

resource "genesyscloud_integration_action" "quote" {
  name                   = "quote"
  category               = var.category
  integration_id         = var.integration_id
  secure                 = false
  config_timeout_seconds = 60
  contract_input = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "quote input"
    "type"    = "object"
    "properties" = {
      "amount" = {
        "type"             = "number"
        "minimum"          = 0
        "exclusiveMinimum" = true
      }
      "currency" = {
        "type" = "string"
        "enum" = ["EUR"]
      }
      "note" = {
        "type" = "string"
      }
    }
    "dependencies" = {
      "note" = ["amount"]
    }
  })
  contract_output = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    "title"   = "quote output"
    "type"    = "object"
    "definitions" = {
      "unused" = {
        "type" = "string"
      }
    }
    "properties" = {
      "price" = {
        "type"             = "number"
        "minimum"          = 1
        "maximum"          = 50
        "exclusiveMaximum" = true
      }
      "pair" = {
        "type" = "array"
        "items" = [{
          "type" = "string"
        }, {}]
        "additionalItems" = false
      }
      "extra" = {
        "not" = {
          "not" = {}
        }
      }
      "meta" = {
        "type" = "object"
        "additionalProperties" = {
          "type" = "string"
        }
        "dependencies" = {
          "a" = {
            "required" = ["b"]
          }
        }
      }
    }
  })
  config_request {
    request_url_template = "http://127.0.0.1:8080/actions/quote"
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
