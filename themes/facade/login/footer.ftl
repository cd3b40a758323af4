<#-- keycloak.v2's footer hook: the consent links under every login page, and the logo from the
     theme's "logo" property as a CSS variable (the header itself stays Keycloak's). -->
<#macro content>
<#assign logo = properties.logo!"">
<#if logo?has_content>
<style>:root { --facade-logo: url("<#if logo?starts_with("http")>${logo}<#else>${url.resourcesPath}/${logo}</#if>"); }</style>
</#if>
<#assign terms = properties.termsUrl!"">
<#assign privacy = properties.privacyUrl!"">
<p id="facade-legal" class="facade-legal">
  ${msg("legalPrefix")}
  <a id="facade-terms" href="<#if terms?has_content>${terms}<#else>${url.resourcesPath}/legal/terms.html</#if>" target="_blank" rel="noopener">${msg("legalTerms")}</a>
  ${msg("legalAnd")}
  <a id="facade-privacy" href="<#if privacy?has_content>${privacy}<#else>${url.resourcesPath}/legal/privacy.html</#if>" target="_blank" rel="noopener">${msg("legalPrivacy")}</a>
</p>
</#macro>
