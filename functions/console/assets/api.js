// The platform's OpenAPI document (docs/openapi.yaml, served beside this page) rendered by the
// vendored Swagger UI. Read-only: no "Try it out", so the page never calls the API itself.
"use strict";
(function () {
  const prefix = document.body.dataset.prefix;
  window.SwaggerUIBundle({
    url: `${prefix}/openapi.yaml`,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    supportedSubmitMethods: [],
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
  });
})();
