<#-- Identity providers as full-width buttons, labelled from the messages bundle (idp.<alias>).
     "phone" is not listed: login.ftl makes it the 验证码登录 tab. -->
<#macro show social>
  <#assign others = (social.providers![])?filter(p -> p.alias != "phone")>
  <#if others?has_content>
  <div class="${properties.kcLoginMainFooterBand!}">
      <span class="${properties.kcLoginMainFooterBandItem!} ${properties.kcLoginMainFooterHelperText!}">
          ${msg("identity-provider-login-label")}
      </span>
  </div>
  <div id="kc-social-providers" class="${properties.kcFormSocialAccountSectionClass!}">
      <ul class="${properties.kcFormSocialAccountListClass!}">
          <#list others as p>
              <#assign key = "idp." + p.alias>
              <#assign label = msg(key)>
              <#if label == key><#assign label = p.displayName!p.alias></#if>
              <li class="${properties.kcFormSocialAccountListItemClass!}">
                  <a data-once-link data-disabled-class="${properties.kcFormSocialAccountListButtonDisabledClass!}" id="social-${p.alias}"
                     class="${properties.kcButtonSecondaryClass!} ${properties.kcButtonBlockClass!} facade-idp facade-idp-${p.alias}"
                     aria-label="${label}" type="button" href="${p.loginUrl}">
                      <span class="${properties.kcFormSocialAccountNameClass!}">${label}</span>
                  </a>
              </li>
          </#list>
      </ul>
  </div>
  </#if>
</#macro>
